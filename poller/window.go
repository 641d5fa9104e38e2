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
// budget-bound). While calls do not wait for the budget at all (D/T near
// 1), the network is the limit and the window doubles per round trip (a
// slow start: one more call per answer). At 0 ms latency D/T is tiny and
// the window is 1: one page at a time, as without it. It starts, at the
// first answer, from that answer's latency times the API's default pace, so
// that a slow network does not cost round trips of ramp. Not safe for
// concurrent use.
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
	// assumedRate is the pace the window starts from, in calls a second:
	// the API's default budget (600 a minute). The answers correct it
	// within a round trip.
	assumedRate = 10
	// slowStart: a call that spent this share of its time or more on the
	// network did not wait for the budget, so the window may double.
	slowStart = 0.9
)

func newWindow(maxInFlight int) *window {
	return &window{max: maxInFlight, size: 1}
}

// observe records an answer: inFlight calls were in flight while it was
// out (itself included), it took took, of which lat on the network.
func (w *window) observe(inFlight int, took, lat time.Duration) {
	if took <= 0 || lat <= 0 {
		return
	}
	if w.lat == 0 {
		// The first answer: start from the API's default pace.
		w.lat = lat
		w.size = max(1, min(int(math.Ceil(windowGain*assumedRate*lat.Seconds()-1e-9)), w.max))
		return
	}
	w.lat += time.Duration(latSmooth * float64(lat-w.lat))
	lat = min(lat, took)
	busy := lat.Seconds() / took.Seconds() // 1 when the call did not wait for the budget
	if busy >= slowStart {
		// The network is the limit: one more call per answer while the
		// window is used, which doubles it per round trip.
		if 2*inFlight > w.size {
			w.size = min(w.size+1, w.max)
		}
		return
	}
	target := int(math.Ceil(windowGain*float64(inFlight)*busy - 1e-9))
	if target < w.size && inFlight < w.size {
		// Fewer calls were out than the window allows (the poller had no
		// more to ask for): the wait says nothing about the window.
		return
	}
	w.size = max(1, min(target, w.size+1, w.max))
}
