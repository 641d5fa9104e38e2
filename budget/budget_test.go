package budget

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulkload/bulkload/api"
)

// fakeTeam is a fixed-window team budget like the emulator's, in fake time.
type fakeTeam struct {
	mu          sync.Mutex
	limit       int
	window      time.Duration
	start       time.Time
	used        int
	accepted    int
	limited     int
	retryAfter  bool
	windowIndex int64
}

func (f *fakeTeam) call() api.Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	idx := int64(now.Sub(f.start) / f.window)
	if idx != f.windowIndex {
		f.windowIndex, f.used = idx, 0
	}
	if f.used >= f.limit {
		f.limited++
		r := api.Response{StatusCode: 429, RateLimit: api.RateLimit{Cost: 1, Remaining: 0, Known: true}}
		if f.retryAfter {
			end := f.start.Add(time.Duration(idx+1) * f.window)
			r.RetryAfter = end.Sub(now).Round(time.Second) + time.Second
		}
		return r
	}
	f.used++
	f.accepted++
	return api.Response{StatusCode: 200, RateLimit: api.RateLimit{Cost: 1, Remaining: f.limit - f.used, Known: true}}
}

// drive runs workers that Wait, call and Observe until d has passed.
func drive(t *testing.T, b *Budget, team *fakeTeam, workers int, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				if err := b.Wait(ctx); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond) // request latency
				b.Observe(team.call())
			}
		})
	}
	wg.Wait()
}

func TestBudgetAloneUsesItsShare(t *testing.T) {
	for _, tc := range []struct {
		name  string
		share float64
	}{{"share 1", 1}, {"share 0.8", 0.8}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				team := &fakeTeam{limit: 600, window: time.Minute, start: time.Now().Add(-17 * time.Second)}
				b, err := New(Config{Limit: 600, Window: time.Minute, Share: tc.share})
				if err != nil {
					t.Fatal(err)
				}
				const windows = 5
				drive(t, b, team, 8, windows*time.Minute)
				ideal := float64(windows) * 600 * tc.share
				if got := float64(team.accepted); got < 0.95*ideal {
					t.Errorf("accepted %v calls in %d windows; want ≥ 95%% of %v", got, windows, ideal)
				}
				if team.limited*100 >= team.accepted {
					t.Errorf("%d of %d calls got 429; want < 1%%", team.limited, team.accepted)
				}
			})
		})
	}
}

// TestBudgetSharedTeam: another integration spends 40% of the same team
// budget; the Budget must slow down rather than collect 429s.
func TestBudgetSharedTeam(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		team := &fakeTeam{limit: 600, window: time.Minute, start: time.Now().Add(-5 * time.Second)}
		b, _ := New(Config{Limit: 600, Window: time.Minute, Share: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var other sync.WaitGroup
		other.Go(func() { // 4 calls a second, unpaced by any Budget
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					team.call()
				}
			}
		})
		before := team.limited
		drive(t, b, team, 8, 5*time.Minute)
		other.Wait()
		mine := b.Stats().Calls
		limited := b.Stats().RateLimited
		if limited*20 > mine {
			t.Errorf("%d of our %d calls got 429 (team total 429s %d); want < 5%%", limited, mine, team.limited-before)
		}
		if mine < 5*300 {
			t.Errorf("we made %d calls in 5 windows; want at least the ~60%% left by the other client (≥1500)", mine)
		}
	})
}

// TestBudgetShareWithOthers: the other integration spends exactly the
// part the Budget leaves it (Share 0.6, others 40%). The Budget must still
// use about its whole share: the reserve and the others' observed pace are
// the same calls and must not both be subtracted.
func TestBudgetShareWithOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		team := &fakeTeam{limit: 600, window: time.Minute, start: time.Now().Add(-5 * time.Second)}
		b, _ := New(Config{Limit: 600, Window: time.Minute, Share: 0.6})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var other sync.WaitGroup
		other.Go(func() { // 4 calls a second: 40% of 600 a minute
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					team.call()
				}
			}
		})
		drive(t, b, team, 8, 5*time.Minute)
		other.Wait()
		mine, limited := b.Stats().Calls, b.Stats().RateLimited
		if ideal := int64(5 * 360); mine < ideal*90/100 {
			t.Errorf("we made %d calls in 5 windows; want ≥ 90%% of our share (%d)", mine, ideal)
		}
		if limited*100 > mine {
			t.Errorf("%d of our %d calls got 429; want < 1%%", limited, mine)
		}
	})
}

func TestBudget429PausesEveryone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := New(Config{Limit: 600, Window: time.Minute, Share: 1})
		start := time.Now()
		b.Observe(api.Response{StatusCode: 429, RetryAfter: 3 * time.Second})
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if err := b.Wait(context.Background()); err != nil {
					t.Error(err)
				}
				if d := time.Since(start); d < 3*time.Second {
					t.Errorf("Wait returned after %v; want ≥ 3s (Retry-After)", d)
				}
			})
		}
		wg.Wait()
		if s := b.Stats(); s.RateLimited != 1 || s.Calls != 1 {
			t.Errorf("Stats = %+v; want 1 call, 1 rate-limited", s)
		}
	})
}

// TestBudget429ProbesFirst: with the window learned, a first 429 pauses
// for a short back-off and lets one call probe; only a probe answered 429
// waits for the window's end. A stray 429 (or a leaky bucket that frees
// room within a second) then costs a second, not the rest of the minute.
func TestBudget429ProbesFirst(t *testing.T) {
	ok := func(rem int) api.Response {
		return api.Response{StatusCode: 200, RateLimit: api.RateLimit{Cost: 1, Remaining: rem, Known: true}}
	}
	limited := api.Response{StatusCode: 429, RateLimit: api.RateLimit{Cost: 1, Remaining: 0, Known: true}}
	tests := []struct {
		name  string
		probe api.Response // the answer to the probe
		spent bool         // the probe says the window is spent
	}{
		{"probe succeeds", ok(300), false},
		{"probe answered 429", limited, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				b, _ := New(Config{Limit: 600, Window: time.Minute, Share: 1})
				b.Observe(ok(100))
				b.Observe(ok(598)) // a jump: a window began now
				start := time.Now()
				time.Sleep(10 * time.Second)
				b.Observe(limited)
				if err := b.Wait(ctx); err != nil { // the probe
					t.Fatal(err)
				}
				if d := time.Since(start); d < 10*time.Second || d > 12*time.Second {
					t.Fatalf("the probe went %v into the window; want about 1 s after the 429 at 10 s", d)
				}
				b.Observe(tt.probe)
				if err := b.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				d := time.Since(start)
				if tt.spent && d < 60*time.Second {
					t.Errorf("after the probe's 429, calls resumed %v into the window; want after its end (60 s)", d)
				}
				if !tt.spent && d > 15*time.Second {
					t.Errorf("after the probe succeeded, calls resumed %v into the window; want at once", d)
				}
			})
		})
	}
}

func TestBudgetWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := New(Config{})
		b.Observe(api.Response{StatusCode: 429, RetryAfter: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := b.Wait(ctx); err != context.DeadlineExceeded {
			t.Errorf("Wait = %v; want context.DeadlineExceeded", err)
		}
	})
}

func TestNewValidation(t *testing.T) {
	for _, cfg := range []Config{{Limit: -1}, {Window: -1}, {Share: 1.5}, {Share: -0.1}, {Burst: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error; want an error", cfg)
		}
	}
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.PerSecond(), 600*0.8/60; got != want {
		t.Errorf("PerSecond() = %v; want %v", got, want)
	}
}
