package poller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/poller"
)

const testKey = "ak_test"

// emulatorJob starts an emulator, uploads n person/upsert records (every
// failEvery-th without an email address, so it fails; 0 for none) and marks
// the job ready. It returns the server and a client paced by bud (nil for
// none).
func emulatorJob(tb testing.TB, cfg apitest.Config, bud *budget.Budget, n, failEvery int) (*apitest.Server, *api.Client, int64) {
	tb.Helper()
	srv := apitest.NewServer(cfg)
	tb.Cleanup(srv.Close)
	acfg := api.Config{APIKey: testKey, BaseURL: srv.URL, HTTPClient: srv.Client()}
	if bud != nil {
		acfg.Budget = bud
	}
	c, err := api.NewClient(acfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	// Set up without faults or budget: they are for the poll.
	faults := srv.Faults()
	if err := srv.SetFaults(apitest.Faults{}); err != nil {
		tb.Fatal(err)
	}
	setup, err := api.NewClient(api.Config{APIKey: testKey, BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		tb.Fatal(err)
	}
	job, _, err := setup.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		tb.Fatal(err)
	}
	for from := 0; from < n; from += api.MaxRecordsPerUpload {
		var b bytes.Buffer
		b.WriteString(`{"data":[`)
		for i := from; i < min(n, from+api.MaxRecordsPerUpload); i++ {
			if i > from {
				b.WriteByte(',')
			}
			if failEvery > 0 && i%failEvery == failEvery-1 {
				fmt.Fprintf(&b, `{"first_name":"P%d"}`, i)
			} else {
				fmt.Fprintf(&b, `{"email_address":"p%d@example.com","first_name":"P%d","upsert_key":"email_address"}`, i, i)
			}
		}
		b.WriteString(`]}`)
		if _, _, err := setup.CreateJobData(ctx, job.ID, b.Bytes()); err != nil {
			tb.Fatal(err)
		}
	}
	ready := true
	if _, _, err := setup.UpdateJob(ctx, job.ID, api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		tb.Fatal(err)
	}
	if err := srv.SetFaults(faults); err != nil {
		tb.Fatal(err)
	}
	return srv, c, job.ID
}

// checkEmulatorRows fails unless got holds exactly the job's final rows
// (only the error rows if errorsOnly), in id order, as the emulator has them.
func checkEmulatorRows(tb testing.TB, srv *apitest.Server, jobID int64, got []api.Result, errorsOnly bool) {
	tb.Helper()
	var want []apitest.Row
	for _, r := range srv.Rows(testKey, jobID) {
		if !errorsOnly || r.Status == "error" {
			want = append(want, r)
		}
	}
	if len(got) != len(want) {
		tb.Errorf("handed over %d rows; want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.ID != w.ID || string(g.Status) != w.Status || !bytes.Equal(g.Record, w.Record) {
			tb.Fatalf("row %d = %d %s %s; want %d %s %s", i, g.ID, g.Status, g.Record, w.ID, w.Status, w.Record)
		}
		if (g.Error == nil) != (w.Error == "") {
			tb.Fatalf("row %d error = %v; want %q", i, g.Error, w.Error)
		}
	}
}

var fastRetry = budget.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 200 * time.Millisecond, MaxElapsed: time.Minute}

func TestEmulator(t *testing.T) {
	tests := []struct {
		name       string
		cfg        apitest.Config
		limit      int // the team budget per 500 ms, also the client's; 0 for none
		n          int
		errorsOnly bool
	}{
		{name: "in order", cfg: apitest.Config{ProcessRate: 20000}, n: 6000},
		{name: "out of order", cfg: apitest.Config{ProcessRate: 20000, OutOfOrder: true, ErrorRate: 0.05}, n: 6000},
		{name: "out of order, faults on GETs", n: 5000, cfg: apitest.Config{ProcessRate: 20000, OutOfOrder: true,
			Faults: apitest.Faults{ErrorOnGet: 0.1, RateLimitOnGet: 0.1, Jitter: time.Millisecond}}},
		{name: "out of order, tight budget", n: 5000, limit: 40, cfg: apitest.Config{ProcessRate: 20000, OutOfOrder: true,
			Faults: apitest.Faults{RateLimitOnGet: 0.05}}},
		{name: "errors only", errorsOnly: true, n: 6000, cfg: apitest.Config{ProcessRate: 20000, ErrorRate: 0.05}},
		{name: "errors only, out of order, faults", errorsOnly: true, n: 5000, limit: 40,
			cfg: apitest.Config{ProcessRate: 20000, OutOfOrder: true, ErrorRate: 0.05,
				Faults: apitest.Faults{ErrorOnGet: 0.1, RateLimitOnGet: 0.1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var bud *budget.Budget
			if tt.limit > 0 {
				tt.cfg.RateLimit, tt.cfg.RateWindow = tt.limit, 500*time.Millisecond
				var err error
				if bud, err = budget.New(budget.Config{Limit: tt.limit, Window: 500 * time.Millisecond}); err != nil {
					t.Fatal(err)
				}
			}
			srv, c, jobID := emulatorJob(t, tt.cfg, bud, tt.n, 7)
			p, err := poller.New(c, poller.Config{
				ErrorsOnly:  tt.errorsOnly,
				MinInterval: 20 * time.Millisecond,
				MaxInterval: 200 * time.Millisecond,
				Retry:       fastRetry,
			})
			if err != nil {
				t.Fatal(err)
			}
			// Read Stats concurrently, as a CLI's progress display would.
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			wg.Go(func() {
				for ctx.Err() == nil {
					_ = p.Stats()
					time.Sleep(time.Millisecond)
				}
			})
			var got []api.Result
			st, err := p.Run(ctx, jobID, func(r api.Result) error {
				got = append(got, r)
				return nil
			})
			cancel()
			wg.Wait()
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			checkEmulatorRows(t, srv, jobID, got, tt.errorsOnly)
			es := srv.Stats()
			listed := es.Requests[apitest.EndpointListJobData] + es.Requests[apitest.EndpointListResults]
			if listed != st.PageCalls {
				t.Errorf("Stats.PageCalls = %d; the emulator saw %d listing calls", st.PageCalls, listed)
			}
			// The goal counts calls that were answered; failed attempts
			// are extra, as Retries reports.
			answered := st.PageCalls - int64(es.Faults[apitest.FaultErrorOnGet]+es.Faults[apitest.FaultRateLimitOnGet]+es.RateLimited)
			rows := tt.n
			goal := int(1.05*math.Ceil(float64(rows)/100)) + 5
			if tt.errorsOnly {
				rows = int(st.DeliveredErrors)
				goal = (rows+99)/100 + 5
			}
			if answered > int64(goal) {
				t.Errorf("listing calls answered = %d; want <= %d for %d rows", answered, goal, rows)
			}
			t.Logf("%d rows: %d listing calls (%d answered), %d job polls, %d retries, %d 429s",
				rows, st.PageCalls, answered, st.JobCalls, st.Retries, es.RateLimited+es.Faults[apitest.FaultRateLimitOnGet])
		})
	}
}

// TestEmulatorResume stops a poll of an out-of-order job part way, as a
// killed CLI would (with rows in the files past the last checkpoint), and
// resumes it from the saved cursor into the same files cut at the saved
// offsets: the files hold every row once.
func TestEmulatorResume(t *testing.T) {
	for _, errorsOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("errors only %v", errorsOnly), func(t *testing.T) {
			srv, c, jobID := emulatorJob(t, apitest.Config{ProcessRate: 10000, OutOfOrder: true, ErrorRate: 0.1}, nil, 3000, 0)
			dir := t.TempDir()
			fcfg := poller.FilesConfig{Format: poller.JSONLines, Success: dir + "/ok.jsonl", Errors: dir + "/err.jsonl"}
			type checkpoint struct {
				cursor int64
				offs   poller.Offsets
			}
			var saved checkpoint
			for run := 0; ; run++ {
				if run > 0 {
					fcfg.Resume = &saved.offs
				}
				files, err := poller.CreateFiles(fcfg)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				p, err := poller.New(c, poller.Config{ErrorsOnly: errorsOnly, StartAfter: saved.cursor,
					MinInterval: 10 * time.Millisecond, MaxInterval: 100 * time.Millisecond, Retry: fastRetry,
					Progress: func(s poller.Stats) {
						if err := files.Flush(); err != nil {
							t.Error(err)
							return
						}
						saved = checkpoint{s.Cursor, files.Offsets()}
					}})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				_, err = p.Run(ctx, jobID, func(r api.Result) error {
					if n++; n == 150 && run < 2 {
						cancel() // stops after this page; the rows after the checkpoint are written again
					}
					return files.Write(r)
				})
				cancel()
				if cerr := files.Close(); cerr != nil {
					t.Fatal(cerr)
				}
				if err == nil {
					break
				}
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Run() = %v; want it cancelled", err)
				}
				// Rows flushed after the last checkpoint, before the crash.
				for _, path := range []string{fcfg.Success, fcfg.Errors} {
					f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600) // a file no row created yet gets one too
					if err != nil {
						t.Fatal(err)
					}
					_, _ = f.WriteString(`{"id":-1,"status":"success"}` + "\n")
					_ = f.Close()
				}
			}
			type row struct {
				ID     int64      `json:"id"`
				Status api.Status `json:"status"`
			}
			var got []row
			for _, path := range []string{fcfg.Success, fcfg.Errors} {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				for line := range bytes.Lines(b) {
					var r row
					if err := json.Unmarshal(line, &r); err != nil {
						t.Fatalf("%s: %q: %v", path, line, err)
					}
					got = append(got, r)
				}
			}
			slices.SortFunc(got, func(a, b row) int { return int(a.ID - b.ID) })
			var want []row
			for _, r := range srv.Rows(testKey, jobID) {
				if !errorsOnly || r.Status == "error" {
					want = append(want, row{r.ID, api.Status(r.Status)})
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("the files hold %d rows; want each of the %d rows once", len(got), len(want))
			}
		})
	}
}
