// Command killtest uploads a JSON-lines file into a bulk job with a state
// directory, resuming from the manifest there if one exists. The uploader's
// kill test runs it against an emulator and kills it with SIGKILL at chosen
// moments. It exits 0 when the upload is complete, 1 when it failed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/manifest"
	"github.com/bulkload/bulkload/uploader"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "killtest:", err)
		os.Exit(1)
	}
}

func run() error {
	url := flag.String("url", "", "API base URL")
	key := flag.String("key", "", "API key")
	job := flag.Int64("job", 0, "bulk job id")
	in := flag.String("in", "", "JSON-lines input")
	dir := flag.String("state", "", "state directory")
	size := flag.Int("batch", 50, "records per batch")
	workers := flag.Int("workers", 4, "parallel uploads")
	flag.Parse()

	m, err := manifest.Load(*dir)
	if errors.Is(err, fs.ErrNotExist) {
		m = nil
	} else if err != nil {
		return err
	}
	data, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	client, err := api.NewClient(api.Config{APIKey: *key, BaseURL: *url,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: api.DefaultTransport()}})
	if err != nil {
		return err
	}
	u, err := uploader.New(uploader.Config{Client: client, Workers: *workers, Manifest: m, StateDir: *dir,
		Retry: budget.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: time.Minute}})
	if err != nil {
		return err
	}
	_, err = u.Upload(context.Background(), *job, &lines{sc: bufio.NewScanner(bytes.NewReader(data)), size: *size})
	return err
}

// lines cuts JSON lines into batches.
type lines struct {
	sc   *bufio.Scanner
	size int
	seq  int
	line int
}

func (l *lines) Next() (uploader.Batch, error) {
	body := []byte(`{"data":[`)
	n, first := 0, l.line+1
	for n < l.size && l.sc.Scan() {
		l.line++
		if n > 0 {
			body = append(body, ',')
		}
		body = append(body, l.sc.Bytes()...)
		n++
	}
	if err := l.sc.Err(); err != nil {
		return uploader.Batch{}, err
	}
	if n == 0 {
		return uploader.Batch{}, io.EOF
	}
	b := uploader.Batch{Seq: l.seq, Records: n, Body: append(body, "]}"...), FirstLine: first, LastLine: l.line}
	l.seq++
	return b, nil
}
