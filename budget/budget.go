// Package budget paces every API call a process makes against the team's
// Salesloft rate limit, and holds the one retry policy that the uploader and
// the poller share.
//
// # The model
//
// Salesloft gives each team a budget of cost per minute (600 by default),
// shared by every integration of the team; each bulk call costs 1 and a call
// over the budget is answered 429. Each response reports what the call cost
// (x-ratelimit-endpoint-cost) and what remains of the team's minute
// (x-ratelimit-remaining-minute).
//
// A [Budget] is a token bucket ([rate.Limiter]) filled at Share × Limit per
// Window: the part of the team's budget this process may use, leaving the
// rest for the team's other integrations. Every attempt waits for a token
// ([Budget.Wait]) and every response corrects the pace ([Budget.Observe]):
//
//   - When the remaining budget jumps up, a new window has begun; the Budget
//     learns where the server's windows start and end.
//   - Within a window it spends at most what remains minus the reserve left
//     for others ((1-Share) × Limit), spread over the time left, so when other
//     clients spend part of the same budget it slows down before a 429 rather
//     than after.
//   - On a 429 it pauses every caller: until Retry-After when the server sent
//     one; else for a short jittered back-off, after which one call probes
//     alone; if the probe is answered 429 too, until the window it has
//     learned ends, or for a growing back-off when it has learned none.
//
// One Budget must be shared by every goroutine and component that calls the
// API with the same team's key; it is safe for concurrent use. Pass it as
// api.Config.Budget and every attempt of that client is paced.
package budget

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/cenkalti/backoff/v4"
	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	DefaultLimit  = 600
	DefaultWindow = time.Minute
	DefaultShare  = 0.8
)

// Config configures a Budget. The zero value of each field is its default.
type Config struct {
	// Limit is the team's budget: cost per Window. Zero means 600.
	Limit int
	// Window is the period of the team's budget. Zero means one minute.
	Window time.Duration
	// Share is the fraction of Limit this process may use, in (0, 1].
	// Zero means 0.8, leaving a fifth for the team's other integrations.
	Share float64
	// Burst is how many calls may start at once after an idle spell. Zero
	// means 1% of the share of the budget per window, at least 1.
	Burst int
}

// Stats is a snapshot of a Budget's counters.
type Stats struct {
	Calls       int64         // responses observed
	RateLimited int64         // of which 429
	Remaining   int           // last x-ratelimit-remaining-minute seen; -1 before any
	Paused      time.Duration // total time callers were held back by pauses
	Rate        float64       // current pace, calls per second
}

// Budget paces API calls; see the package doc. Create it with New.
type Budget struct {
	limit   int
	window  time.Duration
	reserve int        // (1-Share)*Limit: left for the team's other clients
	base    rate.Limit // Share*Limit/Window
	lim     *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time
	windowEnd   time.Time // end of the server window, once learned
	lastRemain  int
	// Within the learned window: what remained at its first response and
	// how many of our calls were observed since, to estimate how fast the
	// team's other clients spend.
	winRemain int
	winCalls  int
	strikes   int // consecutive 429s, for the back-off
	// After a 429 pause one call probes the budget alone; the others wait
	// for its answer instead of collecting a 429 each.
	probe      bool      // a probe is wanted
	probeSince time.Time // when the current probe left; zero: none in flight
	back       *backoff.ExponentialBackOff

	calls   atomic.Int64
	limited atomic.Int64
	paused  atomic.Int64 // nanoseconds
}

// New checks cfg and returns a Budget.
func New(cfg Config) (*Budget, error) {
	if cfg.Limit == 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Share == 0 {
		cfg.Share = DefaultShare
	}
	switch {
	case cfg.Limit < 0:
		return nil, errors.New("budget: Limit must be positive")
	case cfg.Window < 0:
		return nil, errors.New("budget: Window must be positive")
	case cfg.Share < 0 || cfg.Share > 1 || math.IsNaN(cfg.Share):
		return nil, errors.New("budget: Share must be in (0, 1]")
	case cfg.Burst < 0:
		return nil, errors.New("budget: Burst must not be negative")
	}
	mine := float64(cfg.Limit) * cfg.Share
	if cfg.Burst == 0 {
		cfg.Burst = max(1, int(mine/100))
	}
	base := rate.Limit(mine / cfg.Window.Seconds())
	b := &Budget{
		limit:      cfg.Limit,
		window:     cfg.Window,
		reserve:    cfg.Limit - int(math.Floor(mine)),
		base:       base,
		lim:        rate.NewLimiter(base, cfg.Burst),
		lastRemain: -1,
		back:       backoff.NewExponentialBackOff(),
	}
	b.back.InitialInterval = max(cfg.Window/60, 50*time.Millisecond)
	b.back.MaxInterval = cfg.Window
	b.back.MaxElapsedTime = 0 // pauses never give up; callers' retry policies do
	return b, nil
}

// Unlimited returns a Budget that never waits: for tests and benchmarks
// that measure everything but the budget.
func Unlimited() *Budget {
	b, _ := New(Config{})
	b.base = rate.Inf
	b.lim = rate.NewLimiter(rate.Inf, 1)
	return b
}

// Wait blocks until one call may be made, or ctx is done.
func (b *Budget) Wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		now := time.Now()
		d := b.pausedUntil.Sub(now)
		if d <= 0 && b.probe {
			if b.probeSince.IsZero() || now.Sub(b.probeSince) > probeTimeout {
				b.probeSince = now // this caller probes
			} else {
				d = probeWait
			}
		}
		b.mu.Unlock()
		if d <= 0 {
			break
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
			b.paused.Add(int64(d))
		}
	}
	return b.lim.Wait(ctx)
}

// Observe corrects the pace from one response. api.Client calls it for
// every response when the Budget is set as api.Config.Budget.
func (b *Budget) Observe(r api.Response) {
	b.calls.Add(1)
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.StatusCode == 429 {
		b.limited.Add(1)
		b.strikes++
		// The lone probe sent after a pause came back 429: the budget is
		// really spent, not just touched by a passing burst.
		probed := !b.probeSince.IsZero()
		var until time.Time
		switch {
		case r.RetryAfter > 0:
			until = now.Add(r.RetryAfter)
		case b.pausedUntil.After(now) && !probed:
			// Concurrent calls answered 429 under the same pause: one
			// pause, not one step of back-off per call.
			until = b.pausedUntil
		case probed && b.windowEnd.After(now):
			until = b.windowEnd.Add(b.margin())
		default:
			// A first 429 pauses briefly, then one call probes. Salesloft
			// is described both as minute windows and as a leaky bucket
			// that frees room continuously; a probe a second later costs
			// one more 429 if the window is spent, and saves up to a
			// minute if it is not.
			until = now.Add(b.back.NextBackOff())
		}
		if until.After(b.pausedUntil) {
			b.pausedUntil = until
		}
		b.lastRemain = 0
		b.probe, b.probeSince = true, time.Time{}
		return
	}
	b.probe, b.probeSince = false, time.Time{}
	if b.strikes > 0 {
		b.strikes = 0
		b.back.Reset()
	}
	if !r.RateLimit.Known || b.base == rate.Inf {
		return
	}
	rem := r.RateLimit.Remaining
	// A jump up means the server started a new window since the previous
	// response. Responses of concurrent calls arrive slightly out of order,
	// so only a jump well above that noise counts.
	if b.lastRemain >= 0 && rem-b.lastRemain > max(b.limit/10, 2) {
		b.windowEnd = now.Add(b.window)
		b.winRemain, b.winCalls = rem+r.RateLimit.Cost, 0
	}
	b.winCalls += max(r.RateLimit.Cost, 1)
	b.lastRemain = rem
	b.repace(now, rem)
}

// repace sets the limiter's rate so that what remains of the window, less
// the reserve, lasts until the window ends. Called with mu held.
func (b *Budget) repace(now time.Time, remaining int) {
	left := b.windowEnd.Sub(now)
	if b.windowEnd.IsZero() || left <= 0 {
		// The window is unknown (or its end has passed without a jump being
		// seen): fall back to the base pace, but stop before a sure 429.
		if remaining-b.reserve <= 0 {
			b.pausedUntil = maxTime(b.pausedUntil, now.Add(b.back.InitialInterval))
		}
		b.lim.SetLimitAt(now, b.base)
		return
	}
	// Leave the team's other clients what they will likely spend until the
	// window ends: what is left of their part ((1-Share) × Limit less what
	// they spent so far this window), or more if their pace so far says so.
	// The two describe the same calls; subtracting both would leave this
	// process a fraction of its share.
	reserve := b.reserve
	if elapsed := b.window - left; elapsed > b.window/20 {
		if others := b.winRemain - remaining - b.winCalls; others > 0 {
			projected := int(float64(others) / elapsed.Seconds() * left.Seconds())
			reserve = max(b.reserve-others, projected)
		}
	}
	spendable := remaining - reserve
	if spendable <= 0 {
		if remaining-b.reserve <= 0 {
			b.pausedUntil = maxTime(b.pausedUntil, b.windowEnd.Add(b.margin()))
			b.lim.SetLimitAt(now, b.base)
			return
		}
		b.lim.SetLimitAt(now, rate.Limit(1/left.Seconds()))
		return
	}
	pace := rate.Limit(float64(spendable) / left.Seconds())
	b.lim.SetLimitAt(now, min(pace, b.base))
}

// margin is how long after a learned window end a paused caller resumes, to
// absorb clock skew between this process and the server.
func (b *Budget) margin() time.Duration { return max(b.window/200, 20*time.Millisecond) }

// probeTimeout is how long a probe may go unanswered (its call failed in
// transport) before another caller probes; probeWait is how often waiting
// callers look for the probe's answer.
const (
	probeTimeout = 5 * time.Second
	probeWait    = 25 * time.Millisecond
)

// Stats returns a snapshot of the counters. Safe to call at any time.
func (b *Budget) Stats() Stats {
	b.mu.Lock()
	rem := b.lastRemain
	b.mu.Unlock()
	return Stats{
		Calls:       b.calls.Load(),
		RateLimited: b.limited.Load(),
		Remaining:   rem,
		Paused:      time.Duration(b.paused.Load()),
		Rate:        float64(b.lim.Limit()),
	}
}

// PerSecond is the base pace: Share × Limit / Window, in calls per second.
func (b *Budget) PerSecond() float64 { return float64(b.base) }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
