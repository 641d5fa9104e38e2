package poller

import (
	"math"
	"time"
)

// window sizes the pages in flight by Little's law: calls in flight =
// throughput × latency. Each answered call tells what the pipeline did while
// it was out: k calls were in flight when it left, it took T from the
// poller's call to its answer (the wait for the budget included), and the
// network part of that was D (api.Response.Duration, measured after the
// budget let it go). So the throughput was about k/T, and the calls in
// flight that the latency needs are k·D/T. The window is that, stretched by
// windowGain so that a call always waits at the budget (reads stay
// budget-bound), and grows by at most one call per answer (a slow start:
// it doubles per round trip). At 0 ms latency D/T is tiny and the window is
// 1: one page at a time, as without it. Not safe for concurrent use.
type window struct {
	max  int
	size int
	lat  time.Duration // smoothed network latency of answered calls; 0 until one
}

const (
	// windowGain: calls in flight above what the latency needs, so that
	// the budget, not the network, sets the pace.
	windowGain = 1.25
	// latSmooth is the weight of a new latency sample.
	latSmooth = 0.25
)

func newWindow(maxInFlight int) *window {
	return &window{max: maxInFlight, size: 1}
}

// observe records an answer: inFlight calls were in flight when it left
// (itself included), it took took, of which lat on the network.
func (w *window) observe(inFlight int, took, lat time.Duration) {
	if lat > 0 {
		if w.lat == 0 {
			w.lat = lat
		} else {
			w.lat += time.Duration(latSmooth * float64(lat-w.lat))
		}
	}
	if took <= 0 || lat <= 0 {
		return
	}
	lat = min(lat, took)
	need := windowGain * float64(inFlight) * lat.Seconds() / took.Seconds()
	target := int(math.Ceil(need - 1e-9))
	w.size = max(1, min(target, w.size+1, w.max))
}
