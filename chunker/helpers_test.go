package chunker

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// result is what a chunker produced for an input: each batch's records as a
// JSON array text, the rejects as "line:col: reason", and the final error.
type result struct {
	batches []string
	rejects []string
	err     error
	all     []Batch
	stats   Stats
}

// run chunks r with cfg, collecting everything, rejects included.
func run(tb testing.TB, r io.Reader, cfg Config) result {
	tb.Helper()
	var res result
	user := cfg.OnReject
	cfg.OnReject = func(rj Reject) {
		res.rejects = append(res.rejects, fmt.Sprintf("%d:%d: %v", rj.Err.Line, rj.Err.Column, rj.Err.Err))
		if user != nil {
			user(rj)
		}
	}
	c, err := New(r, cfg)
	if err != nil {
		res.err = err
		return res
	}
	defer c.Close()
	for {
		b, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.err = err
			break
		}
		if !strings.HasPrefix(string(b.Body), bodyPrefix) || !strings.HasSuffix(string(b.Body), bodySuffix) {
			tb.Fatalf("batch %d body %q lacks the envelope", b.Seq, b.Body)
		}
		res.batches = append(res.batches, string(b.Body[len(bodyPrefix)-1:len(b.Body)-1]))
		res.all = append(res.all, b)
	}
	if _, err := c.Next(); res.err == nil && !errors.Is(err, io.EOF) || res.err != nil && err != res.err {
		tb.Errorf("Next after the end = %v; want the same end (%v)", err, res.err)
	}
	res.stats = c.Stats()
	return res
}

func runString(tb testing.TB, in string, cfg Config) result {
	tb.Helper()
	return run(tb, strings.NewReader(in), cfg)
}

// errString formats err for comparison with a table's want ("" for nil).
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// check compares a result with the wanted batches, rejects and error text.
func (res result) check(tb testing.TB, batches, rejects []string, wantErr string) {
	tb.Helper()
	if !equalStrings(res.batches, batches) {
		tb.Errorf("batches = %q; want %q", res.batches, batches)
	}
	if !equalStrings(res.rejects, rejects) {
		tb.Errorf("rejects = %q; want %q", res.rejects, rejects)
	}
	if got := errString(res.err); got != wantErr {
		tb.Errorf("error = %q; want %q", got, wantErr)
	}
}
