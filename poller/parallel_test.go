package poller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulkload/bulkload/api"
)

// Pages in flight: with latency on every call the poller keeps several
// listing calls out at predicted cursors. Whatever the predictions meet
// (rows finishing out of order, ids of another job between this job's,
// calls that fail and are retried), every row comes out once, in id order.
func TestRunPagesInFlight(t *testing.T) {
	tests := []struct {
		name string
		job  fakeConfig
		cfg  Config
		// maxCalls, if set, bounds the listing calls in pages of 100.
		maxCalls func(pages int) int
	}{
		{name: "done, dense", job: fakeConfig{n: 5000, rate: 1e6},
			maxCalls: func(p int) int { return p*102/100 + 5 }},
		{name: "done, another job's ids every 1000", job: fakeConfig{n: 5000, rate: 1e6, run: 1000, gap: 1000},
			maxCalls: func(p int) int { return p*115/100 + 5 + 4*DefaultMaxInFlight }},
		{name: "done, another job's ids every 250", job: fakeConfig{n: 3000, rate: 1e6, run: 250, gap: 37}},
		{name: "done, sparse ids", job: fakeConfig{n: 3000, rate: 1e6, idStep: 3}},
		{name: "in order while running", job: fakeConfig{n: 5000, rate: 300}},
		{name: "out of order while running", job: fakeConfig{n: 5000, rate: 300, window: 100, retryRate: 0.25, errorRate: 0.1}},
		{name: "out of order, fast", job: fakeConfig{n: 10000, rate: 5000, window: 100, retryRate: 0.25}},
		{name: "out of order, interleaved", job: fakeConfig{n: 5000, rate: 500, window: 100, retryRate: 0.25, run: 700, gap: 300}},
		{name: "waits its turn", job: fakeConfig{n: 2000, rate: 200, delay: time.Minute}},
		{name: "per page 25", job: fakeConfig{n: 2000, rate: 200, window: 50, retryRate: 0.25}, cfg: Config{PerPage: 25}},
		{name: "one in flight", job: fakeConfig{n: 2000, rate: 1e6}, cfg: Config{MaxInFlight: 1},
			maxCalls: func(p int) int { return p + 1 }}, // the first page goes out with the job poll
		{name: "empty job", job: fakeConfig{n: 0, rate: 1e6}},
	}
	for _, lat := range []time.Duration{0, 300 * time.Millisecond, time.Second} {
		for _, tt := range tests {
			t.Run(lat.String()+"/"+tt.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := tt.job
					c.latency = lat
					job := newFakeJob(c)
					cfg := tt.cfg
					cfg.Retry = testRetry
					// A day of the bubble's fake time, which passes in an
					// instant: a poll that can never end (a row skipped
					// for good) fails here, not by hanging the suite.
					ctx, cancel := context.WithTimeout(t.Context(), 24*time.Hour)
					defer cancel()
					// Each row is checked as it comes: one out of its
					// place (a row skipped: the cursor passed a row not
					// final yet) stops the poll at once.
					want := job.want(false)
					p, err := New(job, cfg)
					if err != nil {
						t.Fatal(err)
					}
					var got []api.Result
					st, err := p.Run(ctx, 42, func(r api.Result) error {
						if k := len(got); k >= len(want) || r.ID != want[k].ID {
							return fmt.Errorf("row %d is id %d; want the next row, %v", k, r.ID, want[min(k, len(want)-1)].ID)
						}
						got = append(got, r)
						return nil
					})
					if err != nil {
						t.Fatalf("Run() = %v", err)
					}
					checkRows(t, got, job.want(false))
					if !st.Complete || st.Delivered != int64(job.n()) {
						t.Errorf("Run() stats = %+v; want complete, %d delivered", st, job.n())
					}
					// Calls still in flight when Run returns are cancelled;
					// those cancelled before they reached the fake are not
					// counted.
					calls := job.listCalls()
					if int64(calls) != st.PageCalls {
						t.Errorf("Stats.PageCalls = %d; the fake saw %d", st.PageCalls, calls)
					}
					pages := pagesFor(job.n(), cmp.Or(cfg.PerPage, DefaultPerPage))
					if tt.maxCalls != nil && calls > tt.maxCalls(pages) {
						t.Errorf("listing calls = %d; want <= %d (%d pages of rows)", calls, tt.maxCalls(pages), pages)
					}
					if lat == 0 && st.Window != 1 {
						t.Errorf("Stats.Window without latency = %d; want 1", st.Window)
					}
					t.Logf("%d rows: %d listing calls (%.3f× the minimum), window %d, %v",
						job.n(), calls, float64(calls)/float64(max(pages, 1)), st.Window, time.Since(job.start))
				})
			})
		}
	}
}

// Calls in flight that fail (5xx, 429) are retried on their own; the pages
// around them are used as they come, and no row is lost or doubled.
func TestRunPagesInFlightFaults(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
	}{
		{"5xx", http.StatusServiceUnavailable},
		{"429", http.StatusTooManyRequests},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				job := newFakeJob(fakeConfig{n: 5000, rate: 400, window: 100, retryRate: 0.25, run: 900, gap: 100,
					latency: 300 * time.Millisecond})
				job.fault = func(call int) error {
					if call%3 == 0 {
						return &api.Error{Op: "fake", StatusCode: tt.status, Message: "injected"}
					}
					return nil
				}
				got, st, err := collect(t, t.Context(), job, Config{Retry: testRetry})
				if err != nil {
					t.Fatalf("Run() = %v", err)
				}
				checkRows(t, got, job.want(false))
				if st.Retries == 0 {
					t.Errorf("Stats.Retries = 0; want the injected failures retried")
				}
			})
		})
	}
}

// A call that fails for good stops Run with its error; the calls still in
// flight are waited for, and the cursor says where to resume.
func TestRunPagesInFlightGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := newFakeJob(fakeConfig{n: 5000, rate: 1e6, latency: 300 * time.Millisecond})
		job.fault = func(call int) error {
			if call > 20 {
				return &api.Error{Op: "fake", StatusCode: http.StatusForbidden, Message: "revoked"}
			}
			return nil
		}
		got, st, err := collect(t, t.Context(), job, Config{Retry: testRetry})
		var ae *api.Error
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden {
			t.Fatalf("Run() = %v; want the 403", err)
		}
		checkRows(t, got, job.want(false)[:len(got)])
		if len(got) > 0 && st.Cursor != got[len(got)-1].ID {
			t.Errorf("Stats.Cursor = %d; want the last row handed over, %d", st.Cursor, got[len(got)-1].ID)
		}
		// Resuming from the cursor hands over the rest, once.
		job.fault = nil
		rest, _, err := collect(t, t.Context(), job, Config{Retry: testRetry, StartAfter: st.Cursor})
		if err != nil {
			t.Fatalf("resumed Run() = %v", err)
		}
		checkRows(t, append(got, rest...), job.want(false))
	})
}

// A poll ends about when the job does: the poll at the job's expected end
// comes then, not a whole back-off gap later, and a job nearly done at the
// first poll is polled again when it should end, not MinInterval later.
func TestRunEndsWithTheJob(t *testing.T) {
	for _, tt := range []struct {
		name       string
		job        fakeConfig
		errorsOnly bool
		lag        time.Duration // at most, from the job's end to Run's
	}{
		{"errors only", fakeConfig{n: 8000, rate: 1000, errorRate: 0.05}, true, time.Second},
		{"errors only, nearly done", fakeConfig{n: 8000, rate: 1000, errorRate: 0.05, delay: -7900 * time.Millisecond}, true, time.Second},
		{"errors only, latency", fakeConfig{n: 8000, rate: 1000, errorRate: 0.05, latency: 300 * time.Millisecond}, true, 2 * time.Second},
		{"full, resumed", fakeConfig{n: 8000, rate: 1000}, false, 2 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				job := newFakeJob(tt.job)
				cfg := Config{ErrorsOnly: tt.errorsOnly, Retry: testRetry}
				if !tt.errorsOnly {
					cfg.StartAfter = 500 // resumed: it cannot end by count
				}
				if _, err := New(job, cfg); err != nil {
					t.Fatal(err)
				}
				_, _, err := collect(t, t.Context(), job, cfg)
				if err != nil {
					t.Fatalf("Run() = %v", err)
				}
				if lag := time.Since(job.doneAt()); lag > tt.lag {
					t.Errorf("Run() returned %v after the job's end; want at most %v (MinInterval %v)", lag, tt.lag, DefaultMinInterval)
				}
			})
		})
	}
}
