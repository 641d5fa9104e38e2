package poller

import (
	"cmp"
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
)

// testRetry retries quickly; the fake's faults are transient.
var testRetry = budget.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second}

// collect runs a poll and returns what it handed over.
func collect(t testing.TB, ctx context.Context, c Client, cfg Config) ([]api.Result, Stats, error) {
	t.Helper()
	p, err := New(c, cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	var got []api.Result
	st, err := p.Run(ctx, 42, func(r api.Result) error {
		got = append(got, r)
		return nil
	})
	return got, st, err
}

// checkRows fails unless got is exactly want: same ids in the same
// (ascending) order, with the final statuses.
func checkRows(t testing.TB, got, want []api.Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("handed over %d rows; want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i].ID != want[i].ID || got[i].Status != want[i].Status {
			t.Fatalf("row %d = id %d %s; want id %d %s", i, got[i].ID, got[i].Status, want[i].ID, want[i].Status)
		}
	}
}

func pagesFor(rows, per int) int { return (rows + per - 1) / per }

// jobCallBound is the documented bound on job polls: 2 + ⌈T/MinInterval⌉,
// where T runs from the poll's start to the job's end, plus retried
// attempts.
func jobCallBound(start, end time.Time, min time.Duration, retries int64) int {
	return 2 + int(math.Ceil(float64(end.Sub(start))/float64(min))) + int(retries)
}

func TestRunFullMode(t *testing.T) {
	tests := []struct {
		name string
		job  fakeConfig
		cfg  Config
	}{
		{"in order", fakeConfig{n: 5000, rate: 200}, Config{}},
		{"in order, slow", fakeConfig{n: 1000, rate: 7}, Config{}},
		{"in order, id gaps", fakeConfig{n: 3000, rate: 500, idStep: 3}, Config{}},
		{"in order, errors", fakeConfig{n: 4000, rate: 300, errorRate: 0.2}, Config{}},
		{"out of order", fakeConfig{n: 5000, rate: 200, window: 100, retryRate: 0.25, errorRate: 0.1}, Config{}},
		{"out of order, slow", fakeConfig{n: 2000, rate: 20, window: 100, retryRate: 0.25}, Config{}},
		{"out of order, fast", fakeConfig{n: 20000, rate: 5000, window: 100, retryRate: 0.25}, Config{}},
		{"out of order, wide window", fakeConfig{n: 5000, rate: 300, window: 500, retryRate: 0.5}, Config{}},
		{"waits its turn", fakeConfig{n: 2000, rate: 100, delay: 10 * time.Minute}, Config{}},
		{"per page 25", fakeConfig{n: 2000, rate: 100, window: 50, retryRate: 0.25}, Config{PerPage: 25}},
		{"short intervals", fakeConfig{n: 3000, rate: 1000, window: 100, retryRate: 0.25}, Config{MinInterval: 10 * time.Millisecond, MaxInterval: time.Second}},
		{"under a page", fakeConfig{n: 37, rate: 10}, Config{}},
		{"empty job", fakeConfig{n: 0, rate: 10}, Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				job := newFakeJob(tt.job)
				cfg := tt.cfg
				cfg.Retry = testRetry
				start := time.Now()
				got, st, err := collect(t, t.Context(), job, cfg)
				if err != nil {
					t.Fatalf("Run() = %v", err)
				}
				checkRows(t, got, job.want(false))
				if !st.Complete || st.Delivered != int64(job.n()) || st.State != api.StateDone {
					t.Errorf("Run() stats = %+v; want complete, %d delivered, done", st, job.n())
				}
				per := cmp.Or(cfg.PerPage, DefaultPerPage)
				pages, goal := job.listCalls(), int(1.05*float64(pagesFor(job.n(), per)))+5
				if pages > goal {
					t.Errorf("listing calls = %d; want <= %d (%d records)", pages, goal, job.n())
				}
				minInterval := cmp.Or(cfg.MinInterval, DefaultMinInterval)
				if got, bound := job.getCalls(), jobCallBound(start, job.doneAt(), minInterval, 0); got > bound {
					t.Errorf("job polls = %d; want <= %d", got, bound)
				}
				if int64(pages) != st.PageCalls || int64(job.getCalls()) != st.JobCalls {
					t.Errorf("Stats calls = %d pages, %d job; the fake saw %d, %d", st.PageCalls, st.JobCalls, pages, job.getCalls())
				}
				t.Logf("%d records: %d listing calls (%.3f× the minimum), %d job polls, lag %v",
					job.n(), pages, float64(pages)/float64(max(pagesFor(job.n(), per), 1)), job.getCalls(), time.Since(job.doneAt()))
			})
		})
	}
}

func TestRunErrorsOnly(t *testing.T) {
	tests := []struct {
		name string
		job  fakeConfig
	}{
		{"in order", fakeConfig{n: 5000, rate: 300, errorRate: 0.1}},
		{"out of order", fakeConfig{n: 5000, rate: 300, window: 100, retryRate: 0.25, errorRate: 0.3}},
		{"every record fails", fakeConfig{n: 1000, rate: 100, errorRate: 1}},
		{"no errors", fakeConfig{n: 1000, rate: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				job := newFakeJob(tt.job)
				start := time.Now()
				got, st, err := collect(t, t.Context(), job, Config{ErrorsOnly: true, Retry: testRetry})
				if err != nil {
					t.Fatalf("Run() = %v", err)
				}
				want := job.want(true)
				checkRows(t, got, want)
				if st.DeliveredErrors != int64(len(want)) {
					t.Errorf("DeliveredErrors = %d; want %d", st.DeliveredErrors, len(want))
				}
				for _, c := range job.lists {
					if c.path != "results" || c.state != api.StateDone {
						t.Errorf("listing call %+v; want only results calls of a done job", c)
					}
				}
				if calls, goal := job.listCalls(), pagesFor(len(want), 100); calls > goal {
					t.Errorf("listing calls = %d; want <= ⌈%d/100⌉ = %d", calls, len(want), goal)
				}
				if got, bound := job.getCalls(), jobCallBound(start, job.doneAt(), DefaultMinInterval, 0); got > bound {
					t.Errorf("job polls = %d; want <= %d", got, bound)
				}
			})
		})
	}
}

func TestRunRetriesFaults(t *testing.T) {
	faults := map[string]func(call int) error{
		"5xx every 3rd call": func(call int) error {
			if call%3 == 0 {
				return &api.Error{StatusCode: http.StatusServiceUnavailable}
			}
			return nil
		},
		"429 every 4th call": func(call int) error {
			if call%4 == 0 {
				return &api.Error{StatusCode: http.StatusTooManyRequests, RetryAfter: 2 * time.Second}
			}
			return nil
		},
		"transport errors": func(call int) error {
			if call%5 == 1 {
				return &api.Error{Err: errors.New("connection reset by peer")}
			}
			return nil
		},
	}
	for name, fault := range faults {
		for _, errorsOnly := range []bool{false, true} {
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					job := newFakeJob(fakeConfig{n: 3000, rate: 300, window: 100, retryRate: 0.25, errorRate: 0.2})
					job.fault = fault
					got, st, err := collect(t, t.Context(), job, Config{ErrorsOnly: errorsOnly, Retry: testRetry})
					if err != nil {
						t.Fatalf("Run() = %v", err)
					}
					checkRows(t, got, job.want(errorsOnly))
					if st.Retries == 0 {
						t.Errorf("Retries = 0; want some")
					}
				})
			})
		}
	}
}

func TestRunPermanentError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := newFakeJob(fakeConfig{n: 10, rate: 10})
		p, _ := New(job, Config{Retry: testRetry})
		st, err := p.Run(t.Context(), 7, func(api.Result) error { return nil })
		if !api.IsNotFound(err) {
			t.Fatalf("Run(unknown job) = %v; want a 404", err)
		}
		if st.JobCalls != 1 || st.Complete {
			t.Errorf("Run(unknown job) stats = %+v; want 1 job call, not complete", st)
		}
	})
}

func TestRunGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := newFakeJob(fakeConfig{n: 10, rate: 10})
		job.fault = func(int) error { return &api.Error{StatusCode: http.StatusBadGateway} }
		_, st, err := collect(t, t.Context(), job, Config{Retry: budget.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second}})
		var ae *budget.AttemptsError
		if !errors.As(err, &ae) || ae.Attempts != 3 {
			t.Fatalf("Run() = %v; want an *AttemptsError after 3 attempts", err)
		}
		// The first page goes out with the first job poll, and fails
		// alike: whichever gives up first ends Run.
		if st.JobCalls+st.PageCalls < 3 || st.Retries < 2 {
			t.Errorf("Run() stats = %d job calls, %d page calls, %d retries; want 3 attempts of one call, 2 retries",
				st.JobCalls, st.PageCalls, st.Retries)
		}
	})
}

// TestRunResumes stops polls part way (by cancelling, and by a failing
// handler) and resumes them from the saved cursor: together they hand over
// every row exactly once, in order.
func TestRunResumes(t *testing.T) {
	for _, errorsOnly := range []bool{false, true} {
		for _, how := range []string{"cancel", "handler error"} {
			t.Run(how, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					job := newFakeJob(fakeConfig{n: 4000, rate: 200, window: 100, retryRate: 0.25, errorRate: 0.3})
					var got []api.Result
					cursor := int64(0)
					errStop := errors.New("disk full")
					for stop := 1; stop < 10; stop++ {
						ctx, cancel := context.WithCancel(t.Context())
						p, err := New(job, Config{ErrorsOnly: errorsOnly, StartAfter: cursor, Retry: testRetry})
						if err != nil {
							t.Fatal(err)
						}
						n := 0
						st, err := p.Run(ctx, 42, func(r api.Result) error {
							n++
							if n == 150 && stop < 4 {
								if how == "cancel" {
									cancel()
								} else {
									return errStop
								}
							}
							got = append(got, r)
							return nil
						})
						cancel()
						if err == nil {
							break
						}
						if want := map[string]error{"cancel": context.Canceled, "handler error": errStop}[how]; !errors.Is(err, want) {
							t.Fatalf("Run() = %v; want %v", err, want)
						}
						if last := got[len(got)-1].ID; st.Cursor != last {
							t.Fatalf("Stats.Cursor = %d after a stop; want %d, the last row handed over", st.Cursor, last)
						}
						cursor = st.Cursor
					}
					checkRows(t, got, job.want(errorsOnly))
				})
			})
		}
	}
}

// TestRunProgress checks that the hook sees a cursor that only moves
// forward, always at the last row handed over.
func TestRunProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := newFakeJob(fakeConfig{n: 3000, rate: 200, window: 100, retryRate: 0.25})
		var last api.Result
		var calls int
		var p *Poller
		p, _ = New(job, Config{Retry: testRetry, Progress: func(s Stats) {
			calls++
			if s.Cursor != last.ID {
				t.Fatalf("Progress: Cursor = %d; want %d, the last row handed over", s.Cursor, last.ID)
			}
			if now := p.Stats(); now.Delivered != s.Delivered {
				t.Fatalf("Stats().Delivered = %d in the hook; want %d", now.Delivered, s.Delivered)
			}
		}})
		st, err := p.Run(t.Context(), 42, func(r api.Result) error { last = r; return nil })
		if err != nil || calls == 0 {
			t.Fatalf("Run() = %v with %d progress calls; want nil and some", err, calls)
		}
		if st.Rate <= 0 || st.Total != 3000 || st.Processed != 3000 {
			t.Errorf("Run() stats = %+v; want a rate, 3000 total and processed", st)
		}
	})
}

func TestRunConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := newFakeJob(fakeConfig{n: 100, rate: 10})
		p, _ := New(job, Config{})
		running, checked := make(chan struct{}), make(chan struct{})
		var once sync.Once
		go func() {
			_, _ = p.Run(t.Context(), 42, func(api.Result) error {
				once.Do(func() { close(running); <-checked })
				return nil
			})
		}()
		<-running
		_, err := p.Run(t.Context(), 42, func(api.Result) error { return nil })
		close(checked)
		if err == nil {
			t.Errorf("a second concurrent Run() = nil; want an error")
		}
	})
}

func TestNew(t *testing.T) {
	job := newFakeJob(fakeConfig{n: 1, rate: 1})
	bad := map[string]Config{
		"per page 101":      {PerPage: 101},
		"negative per page": {PerPage: -1},
		"negative interval": {MinInterval: -time.Second},
		"min above max":     {MinInterval: time.Minute, MaxInterval: time.Second},
		"negative cursor":   {StartAfter: -1},
	}
	for name, cfg := range bad {
		if _, err := New(job, cfg); err == nil {
			t.Errorf("New(%s) = nil error; want one", name)
		}
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Errorf("New(nil client) = nil error; want one")
	}
	p, err := New(job, Config{MinInterval: time.Minute})
	if err != nil {
		t.Fatalf("New(MinInterval 1m) = %v", err)
	}
	if p.cfg.MaxInterval != time.Minute || p.cfg.PerPage != 100 {
		t.Errorf("defaults = %+v; want MaxInterval raised to 1m, PerPage 100", p.cfg)
	}
}
