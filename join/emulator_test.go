package join_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/join"
	"github.com/bulkload/bulkload/poller"
	"github.com/bulkload/bulkload/uploader"
)

const key = "ak_join"

// storeOrder sits in front of the emulator and serializes job_data POSTs
// so that it knows which bodies were stored, in which order: the truth the
// test holds the resolver to.
type storeOrder struct {
	em     *apitest.Emulator
	mu     sync.Mutex
	job    int64
	stored [][]byte
}

func (s *storeOrder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/job_data") {
		s.em.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	before, _ := s.em.Job(key, s.job)
	s.em.ServeHTTP(w, r)
	if after, _ := s.em.Job(key, s.job); after.Total > before.Total {
		s.stored = append(s.stored, body)
	}
}

// indexing is the upload's source: each batch the chunker yields is
// indexed before it goes out, with its records' lines (one record per
// line in this input; chunker.Batch.Lines gives them in general).
type indexing struct {
	src    *chunker.Chunker
	x      *join.Index
	mu     sync.Mutex
	byBody map[string]chunker.Batch
}

func (s *indexing) Next() (uploader.Batch, error) {
	b, err := s.src.Next()
	if err != nil {
		return b, err
	}
	lines := make([]int, b.Records)
	for i := range lines {
		lines[i] = b.FirstLine + i
	}
	if err := s.x.Add(b.Seq, "", b.Body, lines); err != nil {
		return b, err
	}
	s.mu.Lock()
	s.byBody[string(b.Body)] = b
	s.mu.Unlock()
	return b, nil
}

// input is n person records, one per line, with repeats: every 9th
// repeats the record 40 lines up, every 13th the one just before, every
// 31st lacks an email address (an error row).
func input(n int) ([]byte, map[string]int) {
	var b bytes.Buffer
	var lines []string
	for i := range n {
		var rec string
		switch {
		case i%9 == 8 && i >= 40:
			rec = lines[i-40]
		case i%13 == 12:
			rec = lines[i-1]
		case i%31 == 30:
			rec = fmt.Sprintf(`{"first_name":"P%d"}`, i)
		default:
			rec = fmt.Sprintf(`{"email_address":"p%d@example.com","first_name":"P%d","upsert_key":"email_address"}`, i, i)
		}
		lines = append(lines, rec)
		b.WriteString(rec + "\n")
	}
	count := map[string]int{}
	for _, l := range lines {
		h, _ := join.Hash([]byte(l))
		count[fmt.Sprint(h)]++
	}
	return b.Bytes(), count
}

// saved is what the lifecycle saves after every page of results.
type saved struct {
	cursor  int64
	offsets poller.Offsets
	state   []byte
}

// TestEndToEnd uploads an input that repeats records with 4 workers, two
// uploads in doubt that were stored and two that were not (sent again
// after reconciliation), executes it out of order, and reads the results
// in two processes: the first stops half way, the second resumes from
// the saved cursor, offsets and resolver state, with the index reopened.
// Every line written is the line of the record the server stored there,
// every record whose content is unique in the input has its line, and the
// resolver's count of empty lines is the number of rows without one.
func TestEndToEnd(t *testing.T) {
	for _, resend := range []bool{false, true} {
		t.Run(fmt.Sprintf("resend=%v", resend), func(t *testing.T) { testEndToEnd(t, resend) })
	}
}

func testEndToEnd(t *testing.T, resend bool) {
	ctx := context.Background()
	em, err := apitest.New(apitest.Config{ProcessRate: apitest.NoLimit, OutOfOrder: true, OutOfOrderWindow: 60, Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	order := &storeOrder{em: em}
	ts := httptest.NewServer(order)
	t.Cleanup(func() { em.Close(); ts.Close() })
	client, err := api.NewClient(api.Config{APIKey: key, BaseURL: ts.URL,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: api.DefaultTransport()}})
	if err != nil {
		t.Fatal(err)
	}
	job, _, err := client.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		t.Fatal(err)
	}
	order.job = job.ID

	// Upload, indexing each batch.
	data, count := input(1500)
	dir := t.TempDir()
	path := filepath.Join(dir, "join.idx")
	x, err := join.OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := chunker.New(bytes.NewReader(data), chunker.Config{Format: chunker.FormatJSONL, MaxRecords: 20})
	if err != nil {
		t.Fatal(err)
	}
	src := &indexing{src: ch, x: x, byBody: map[string]chunker.Batch{}}
	em.FailNext(apitest.FaultResetAfterStore, 2)
	em.FailNext(apitest.FaultResetBeforeStore, 2)
	retry := budget.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: time.Minute}
	u, err := uploader.New(uploader.Config{Client: client, Workers: 4, Retry: retry, ResendUnresolvable: resend})
	if err != nil {
		t.Fatal(err)
	}
	ust, err := u.Upload(ctx, job.ID, src)
	if err != nil {
		t.Fatalf("Upload = %v", err)
	}
	if ust.InDoubt < 4 || ust.Retries < 2 {
		t.Fatalf("Stats = %+v; want the 4 uploads in doubt, 2 of them sent again", ust)
	}
	if err := x.Seal(); err != nil {
		t.Fatal(err)
	}
	ready := true
	if _, _, err := client.UpdateJob(ctx, job.ID, api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		t.Fatal(err)
	}
	repeats := ust.Duplicates > 0

	// The truth: the lines of the stored records, in id order.
	var truth []int
	for _, body := range order.stored {
		b, ok := src.byBody[string(body)]
		if !ok {
			t.Fatalf("a stored body is not a batch of the input")
		}
		for i := range b.Records {
			truth = append(truth, b.FirstLine+i)
		}
	}

	// Results, first process: stops half way.
	fcfg := poller.FilesConfig{Success: filepath.Join(dir, "ok.jsonl"), Errors: filepath.Join(dir, "err.jsonl")}
	var last saved
	results := func(x *join.Index, from saved, stopAfter int) (*join.Resolver, error) {
		cfg := join.ResolverConfig{Repeats: repeats, State: from.state}
		res, err := join.NewResolver(x, cfg)
		if err != nil {
			t.Fatal(err)
		}
		fc := fcfg
		fc.Line = res.Line
		if from.state != nil {
			fc.Resume = &from.offsets
		}
		files, err := poller.CreateFiles(fc)
		if err != nil {
			t.Fatal(err)
		}
		defer files.Close()
		p, err := poller.New(client, poller.Config{MinInterval: 5 * time.Millisecond, StartAfter: from.cursor,
			Progress: func(s poller.Stats) {
				if files.Flush() == nil {
					last = saved{cursor: s.Cursor, offsets: files.Offsets(), state: res.State()}
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		errStop := errors.New("stopped")
		_, err = p.Run(ctx, job.ID, func(r api.Result) error {
			if n++; n == stopAfter {
				return errStop
			}
			return files.Write(r)
		})
		if errors.Is(err, errStop) {
			err = nil
		}
		return res, err
	}
	if _, err := results(x, saved{}, len(truth)/2); err != nil {
		t.Fatal(err)
	}
	resumeAt := last.cursor
	if resumeAt == 0 || resumeAt >= int64(len(truth)) {
		t.Fatalf("saved cursor %d after the stop; want one half way", resumeAt)
	}
	x.Close()

	// Second process: the index reopened, the resolver resumed.
	x, err = join.OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	res, err := results(x, last, -1)
	if err != nil {
		t.Fatal(err)
	}

	rows := append(readRows(t, fcfg.Success), readRows(t, fcfg.Errors)...)
	slices.SortFunc(rows, func(a, b row) int { return int(a.ID - b.ID) })
	if len(rows) != len(truth) {
		t.Fatalf("%d result rows; want %d", len(rows), len(truth))
	}
	var empty, unique int64
	for i, r := range rows {
		h, _ := join.Hash(r.Record)
		isUnique := count[fmt.Sprint(h)] == 1
		if isUnique {
			unique++
		}
		switch {
		case r.Line == nil:
			empty++
			if isUnique {
				t.Errorf("row %d (%s) has no line; its content is unique, at line %d", r.ID, r.Record, truth[i])
			}
		case *r.Line != truth[i]:
			t.Errorf("row %d (%s) has line %d; want %d", r.ID, r.Record, *r.Line, truth[i])
		}
	}
	st := res.Stats()
	if st.Results != int64(len(rows)) || st.Empty != empty {
		t.Errorf("Resolver.Stats() = %+v; want %d results, %d empty", st, len(rows), empty)
	}
	t.Logf("%d rows (%d unique in the input), %d without a line; uploads in doubt %d, duplicates %d; resumed after id %d",
		len(rows), unique, empty, ust.InDoubt, ust.Duplicates, resumeAt)
}

type row struct {
	ID     int64           `json:"id"`
	Line   *int            `json:"line"`
	Record json.RawMessage `json:"record"`
}

func readRows(t *testing.T, path string) []row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}
