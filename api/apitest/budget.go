package apitest

import (
	"math"
	"time"
)

// The budget model (§6.1, §11): each team may spend Config.RateLimit cost
// per fixed window of Config.RateWindow, aligned to multiples of the window
// since the zero time. Every call the budget admits costs 1, whatever it
// answers afterwards (404, 422 and injected 5xx included); a 429 costs
// nothing. Budget state is guarded by Emulator.mu.

// unlimited is what x-ratelimit-remaining-minute reports without a budget.
const unlimited = math.MaxInt32

// roll starts a new window for t if now is past the current one.
func (e *Emulator) roll(t *team, now time.Time) {
	if ws := now.Truncate(e.cfg.RateWindow); !ws.Equal(t.winStart) {
		t.winStart, t.used = ws, 0
	}
}

// remaining is what t may still spend in the current window.
func (e *Emulator) remaining(t *team) int {
	if e.cfg.RateLimit == NoLimit {
		return unlimited
	}
	return max(e.cfg.RateLimit-t.used, 0)
}

// charge spends cost from t's budget at now. When the budget cannot cover
// it, nothing is spent and ok is false. It returns the budget left.
func (e *Emulator) charge(t *team, now time.Time, cost int) (left int, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roll(t, now)
	if e.cfg.RateLimit != NoLimit && t.used+cost > e.cfg.RateLimit {
		return e.remaining(t), false
	}
	t.used += cost
	return e.remaining(t), true
}

// windowLeft is the time until t's budget window resets.
func (e *Emulator) windowLeft(t *team, now time.Time) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roll(t, now)
	return t.winStart.Add(e.cfg.RateWindow).Sub(now)
}

// refund gives back one unit charged at now, for an injected 429.
func (e *Emulator) refund(t *team, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roll(t, now)
	t.used = max(t.used-1, 0)
}
