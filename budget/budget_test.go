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

// teamRun is what a shared team did over some windows: our calls and
// 429s (as the Budget counted them) and the other integration's.
type teamRun struct {
	mine, mineLimited   int64
	other, otherLimited int
}

// shareTeam drives a Budget of share with 8 workers for windows minutes,
// while another integration, paced by no Budget, calls the same fixed-window
// team budget of 600 a minute otherPerSec times a second. Call it inside a
// synctest bubble.
func shareTeam(t *testing.T, share float64, otherPerSec, windows int) teamRun {
	t.Helper()
	team := &fakeTeam{limit: 600, window: time.Minute, start: time.Now().Add(-5 * time.Second)}
	b, err := New(Config{Limit: 600, Window: time.Minute, Share: share})
	if err != nil {
		t.Fatal(err)
	}
	d := time.Duration(windows) * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var run teamRun
	var other sync.WaitGroup
	other.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(otherPerSec))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				run.other++
				if team.call().StatusCode == 429 {
					run.otherLimited++
				}
			}
		}
	})
	drive(t, b, team, 8, d)
	other.Wait()
	run.mine, run.mineLimited = b.Stats().Calls, b.Stats().RateLimited
	return run
}

// TestBudgetSharedTeam: another integration spends 40% of the same team
// budget while the Budget may use all of it (Share 1). The Budget must slow
// down from the remaining-budget header rather than collect 429s, and must
// not push the other integration into 429s either.
func TestBudgetSharedTeam(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := shareTeam(t, 1, 4, 5)
		t.Logf("ours: %d calls, %d answered 429; other's: %d calls, %d answered 429", r.mine, r.mineLimited, r.other, r.otherLimited)
		if r.mineLimited*50 > r.mine {
			t.Errorf("%d of our %d calls got 429; want < 2%%", r.mineLimited, r.mine)
		}
		if r.otherLimited*10 > r.other {
			t.Errorf("%d of the other integration's %d calls got 429; want < 10%%", r.otherLimited, r.other)
		}
		if r.mine < 5*300 {
			t.Errorf("we made %d calls in 5 windows; want at least the ~60%% left by the other client (≥1500)", r.mine)
		}
	})
}

// TestBudgetShareWithOthers: the Budget may use 60% of the team's budget
// (Share 0.6); the other integration spends less than the 40% left to it,
// exactly that, or more. Within the team's limit the Budget must use about
// its whole share: the reserve and the others' observed pace are the same
// calls and must not both be subtracted. Beyond it, the Budget must give
// way, keeping both its own 429s and the other integration's few: the
// header, not the share, tells it that the others spend more.
func TestBudgetShareWithOthers(t *testing.T) {
	const windows, limit, share = 5, 600, 0.6
	for _, tc := range []struct {
		name        string
		otherPerSec int
	}{
		{"team below its limit", 2}, // 120 + our 360 of 600 a minute
		{"team at its limit", 4},    // 240 + 360
		{"team above its limit", 6}, // 360 + 360
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := shareTeam(t, share, tc.otherPerSec, windows)
				t.Logf("ours: %d calls, %d answered 429; other's: %d calls, %d answered 429", r.mine, r.mineLimited, r.other, r.otherLimited)
				// What is ours: our share, less what the others spend beyond theirs.
				ideal := int64(windows * min(share*limit, limit-60*float64(tc.otherPerSec)))
				if r.mine < ideal*85/100 {
					t.Errorf("we made %d calls in %d windows; want ≥ 85%% of what the team leaves us (%d)", r.mine, windows, ideal)
				}
				if r.mineLimited*100 > r.mine {
					t.Errorf("%d of our %d calls got 429; want < 1%%", r.mineLimited, r.mine)
				}
				if r.otherLimited*20 > r.other {
					t.Errorf("%d of the other integration's %d calls got 429; want < 5%%", r.otherLimited, r.other)
				}
			})
		})
	}
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
