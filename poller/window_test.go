package poller

import (
	"testing"
	"time"
)

// simulate feeds the window the answers of a pipeline that keeps it full,
// against a budget of rate calls a second and a network of lat, and
// returns its size after rounds answers.
func simulate(w *window, rate float64, lat time.Duration, rounds int) int {
	for range rounds {
		k := w.size
		// Little's law: k calls in flight at rate min(rate, k/lat) take
		// k/throughput each.
		thr := min(rate, float64(k)/lat.Seconds())
		took := time.Duration(float64(k) / thr * float64(time.Second))
		w.observe(k, took, lat)
	}
	return w.size
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name string
		rate float64
		lat  time.Duration
		want int
	}{
		{"0 ms: one page at a time", 10, 500 * time.Microsecond, 1},
		{"100 ms", 10, 100 * time.Millisecond, 2},
		{"300 ms", 10, 300 * time.Millisecond, 4},
		{"1 s", 10, time.Second, 13},
		{"1 s, budget 0.8", 8, time.Second, 10},
		{"3 s: capped", 10, 3 * time.Second, 32},
		{"1 s, a faster budget than assumed", 40, time.Second, 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(DefaultMaxInFlight)
			if got := simulate(w, tt.rate, tt.lat, 200); got != tt.want {
				t.Errorf("window at %v calls/s and %v = %d; want %d", tt.rate, tt.lat, got, tt.want)
			}
		})
	}
}

func TestWindowDemand(t *testing.T) {
	w := newWindow(DefaultMaxInFlight)
	w.observe(1, 1100*time.Millisecond, time.Second) // the first answer: 1 s at the default pace
	if w.size != 13 {
		t.Fatalf("window after a first answer of 1 s = %d; want 13", w.size)
	}
	// Two calls out, each waiting a little for the budget: the poller had
	// no more to ask for, so that says nothing about the window.
	w.observe(2, 1200*time.Millisecond, time.Second)
	if w.size != 13 {
		t.Errorf("window after a wait with 2 of 13 out = %d; want 13", w.size)
	}
	// Answers without latency (a fake) leave it alone.
	w.observe(13, 0, 0)
	if w.size != 13 {
		t.Errorf("window after an answer without timing = %d; want 13", w.size)
	}
}
