package poller_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/poller"
)

// latencyJob starts an emulator, uploads n person/upsert records to a job
// (every 20th fails) and marks it ready. With batch > 0 a second job
// uploads at the same time: batches of batch records go to the two jobs in
// turn, so the job's ids come in runs with the other job's between them.
// The faults (latency included) apply from then on.
func latencyJob(tb testing.TB, cfg apitest.Config, n, batch int) (*apitest.Server, int64) {
	tb.Helper()
	faults := cfg.Faults
	cfg.Faults = apitest.Faults{}
	srv := apitest.NewServer(cfg)
	tb.Cleanup(srv.Close)
	c, err := api.NewClient(api.Config{APIKey: testKey, BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	var jobs []int64
	for range 2 {
		job, _, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert"})
		if err != nil {
			tb.Fatal(err)
		}
		jobs = append(jobs, job.ID)
	}
	if batch == 0 {
		batch, jobs = api.MaxRecordsPerUpload, jobs[:1]
	}
	for from := 0; from < n; from += batch {
		var b bytes.Buffer
		b.WriteString(`{"data":[`)
		for i := from; i < min(n, from+batch); i++ {
			if i > from {
				b.WriteByte(',')
			}
			if i%20 == 19 {
				fmt.Fprintf(&b, `{"first_name":"P%d"}`, i)
			} else {
				fmt.Fprintf(&b, `{"email_address":"p%d@example.com","upsert_key":"email_address"}`, i)
			}
		}
		b.WriteString(`]}`)
		for _, id := range jobs {
			if _, _, err := c.CreateJobData(ctx, id, b.Bytes()); err != nil {
				tb.Fatal(err)
			}
		}
	}
	ready := true
	if _, _, err := c.UpdateJob(ctx, jobs[0], api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		tb.Fatal(err)
	}
	if err := srv.SetFaults(faults); err != nil {
		tb.Fatal(err)
	}
	return srv, jobs[0]
}

// latencyClient returns a client of srv paced by bud (nil: unpaced), with a
// transport that keeps a connection per page in flight.
func latencyClient(tb testing.TB, srv *apitest.Server, bud *budget.Budget) *api.Client {
	tb.Helper()
	cfg := api.Config{APIKey: testKey, BaseURL: srv.URL, HTTPClient: &http.Client{Transport: api.DefaultTransport()}}
	if bud != nil {
		cfg.Budget = bud
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// With latency and jitter on every call, answers come back out of the order
// the pages were asked in, while rows finish out of order, ids interleave
// with a second job's and GETs fail: every row comes out once, in id order.
func TestEmulatorPagesInFlight(t *testing.T) {
	lat := apitest.Faults{Latency: 40 * time.Millisecond, Jitter: 40 * time.Millisecond}
	faulty := lat
	faulty.ErrorOnGet, faulty.RateLimitOnGet = 0.1, 0.1
	tests := []struct {
		name       string
		cfg        apitest.Config
		n, batch   int
		rate       float64 // the client's budget, calls a second; 0 for none
		errorsOnly bool
	}{
		{name: "done before the read", cfg: apitest.Config{ProcessRate: apitest.NoLimit, Faults: lat}, n: 6000},
		{name: "in order, while running", cfg: apitest.Config{ProcessRate: 5000, Faults: lat}, n: 6000},
		{name: "out of order, while running", cfg: apitest.Config{ProcessRate: 5000, OutOfOrder: true, Faults: lat}, n: 6000},
		{name: "interleaved with a second job", cfg: apitest.Config{ProcessRate: apitest.NoLimit, Faults: lat}, n: 6000, batch: 700},
		{name: "interleaved, out of order, while running", cfg: apitest.Config{ProcessRate: 5000, OutOfOrder: true, Faults: lat}, n: 6000, batch: 300},
		{name: "5xx and 429 on GETs", cfg: apitest.Config{ProcessRate: 5000, OutOfOrder: true, Faults: faulty}, n: 5000, batch: 900},
		{name: "budget-bound", cfg: apitest.Config{ProcessRate: apitest.NoLimit, Faults: lat}, n: 4000, batch: 1000, rate: 100},
		{name: "errors only", cfg: apitest.Config{ProcessRate: 5000, OutOfOrder: true, Faults: faulty}, n: 5000, batch: 900, errorsOnly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, jobID := latencyJob(t, tt.cfg, tt.n, tt.batch)
			var bud *budget.Budget
			if tt.rate > 0 {
				var err error
				if bud, err = budget.New(budget.Config{Limit: int(tt.rate), Window: time.Second, Share: 1}); err != nil {
					t.Fatal(err)
				}
			}
			p, err := poller.New(latencyClient(t, srv, bud), poller.Config{ErrorsOnly: tt.errorsOnly, Retry: fastRetry,
				MinInterval: 50 * time.Millisecond, MaxInterval: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			var got []api.Result
			window := 0
			st, err := p.Run(t.Context(), jobID, func(r api.Result) error {
				got = append(got, r)
				window = max(window, p.Stats().Window)
				return nil
			})
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			checkEmulatorRows(t, srv, jobID, got, tt.errorsOnly)
			if !tt.errorsOnly && window < 2 {
				t.Errorf("Stats.Window stayed %d; want pages in flight at 40 ms of latency", window)
			}
			t.Logf("%d rows: %d listing calls, %d job polls, %d retries, window up to %d",
				st.Delivered, st.PageCalls, st.JobCalls, st.Retries, window)
		})
	}
}

// The environment of the child process of TestKillDuringParallelRead.
const (
	killEnvURL   = "BULKLOAD_POLLER_KILL_URL"
	killEnvJob   = "BULKLOAD_POLLER_KILL_JOB"
	killEnvDir   = "BULKLOAD_POLLER_KILL_DIR"
	killRowsFile = "rows"
	killSaveFile = "saved"
)

// TestKillDuringParallelRead runs a poll in a child process (this test
// binary again) that writes each row to a file and saves, after each
// Progress, the cursor and the file's length, as the CLI does. The child is
// SIGKILLed while pages are in flight; a poll resumed from the saved cursor,
// after the file is cut back to the saved length, completes the file: every
// row once, in id order.
func TestKillDuringParallelRead(t *testing.T) {
	if os.Getenv(killEnvURL) != "" {
		killChild(t)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	srv, jobID := latencyJob(t, apitest.Config{ProcessRate: 20000, OutOfOrder: true,
		Faults: apitest.Faults{Latency: 30 * time.Millisecond, Jitter: 30 * time.Millisecond}}, 20000, 1500)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringParallelRead$", "-test.v")
	cmd.Env = append(os.Environ(), killEnvURL+"="+srv.URL, killEnvJob+"="+strconv.FormatInt(jobID, 10), killEnvDir+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once a few thousand rows are out and pages are in flight.
	deadline := time.Now().Add(time.Minute)
	for {
		s, ok := readSaved(t, dir)
		if ok && s.rows >= 3000 && s.window > 1 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the child did not get far in a minute:\n%s", out.Bytes())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	saved, ok := readSaved(t, dir)
	if !ok {
		t.Fatalf("nothing saved")
	}
	if saved.rows >= 20000 {
		t.Fatalf("the child finished before it was killed")
	}

	// Resume, as the CLI does: cut the file back to what was saved with the
	// cursor, then append from the cursor.
	name := filepath.Join(dir, killRowsFile)
	if err := os.Truncate(name, saved.offset); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := poller.New(latencyClient(t, srv, nil), poller.Config{StartAfter: saved.cursor, Retry: fastRetry,
		MinInterval: 50 * time.Millisecond, MaxInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if _, err := p.Run(t.Context(), jobID, func(r api.Result) error {
		_, err := fmt.Fprintf(w, "%d %s\n", r.ID, r.Status)
		return err
	}); err != nil {
		t.Fatalf("resumed Run() = %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var got []api.Result
	for line := range strings.Lines(string(data)) {
		var r api.Result
		if _, err := fmt.Sscanf(line, "%d %s", &r.ID, &r.Status); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, r)
	}
	want := srv.Rows(testKey, jobID)
	if len(got) != len(want) {
		t.Errorf("the file holds %d rows; want %d (killed after %d, resumed after id %d)", len(got), len(want), saved.rows, saved.cursor)
	}
	for i := range min(len(got), len(want)) {
		if got[i].ID != want[i].ID || string(got[i].Status) != want[i].Status {
			t.Fatalf("row %d = %d %s; want %d %s", i, got[i].ID, got[i].Status, want[i].ID, want[i].Status)
		}
	}
	t.Logf("killed after %d rows (cursor %d, window %d); resumed to %d rows", saved.rows, saved.cursor, saved.window, len(got))
}

// saved is what the child saves after each Progress.
type saved struct {
	cursor, offset int64
	rows           int64
	window         int
}

func readSaved(tb testing.TB, dir string) (saved, bool) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, killSaveFile))
	if os.IsNotExist(err) {
		return saved{}, false
	}
	if err != nil {
		tb.Fatal(err)
	}
	var s saved
	if _, err := fmt.Sscanf(string(b), "%d %d %d %d", &s.cursor, &s.offset, &s.rows, &s.window); err != nil {
		tb.Fatalf("saved %q: %v", b, err)
	}
	return s, true
}

// killChild is the child's side: poll, write rows, and save the cursor and
// the file's length after each Progress (write a temporary file, rename
// it), until killed.
func killChild(t *testing.T) {
	jobID, err := strconv.ParseInt(os.Getenv(killEnvJob), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv(killEnvDir)
	c, err := api.NewClient(api.Config{APIKey: testKey, BaseURL: os.Getenv(killEnvURL),
		HTTPClient: &http.Client{Transport: api.DefaultTransport()}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, killRowsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	var offset int64
	var saveErr error
	p, err := poller.New(c, poller.Config{Retry: fastRetry, MinInterval: 50 * time.Millisecond, MaxInterval: 500 * time.Millisecond,
		Progress: func(s poller.Stats) {
			if saveErr != nil {
				return
			}
			if saveErr = w.Flush(); saveErr != nil {
				return
			}
			tmp := filepath.Join(dir, killSaveFile+".tmp")
			body := fmt.Sprintf("%d %d %d %d\n", s.Cursor, offset, s.Delivered, s.Window)
			if saveErr = os.WriteFile(tmp, []byte(body), 0o600); saveErr == nil {
				saveErr = os.Rename(tmp, filepath.Join(dir, killSaveFile))
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background(), jobID, func(r api.Result) error {
		n, err := fmt.Fprintf(w, "%d %s\n", r.ID, r.Status)
		offset += int64(n)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if saveErr != nil {
		t.Fatal(saveErr)
	}
}
