package apitest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Fault is a kind of injected failure. Faults are injected only where their
// name says: the three phases are a job_data POST before anything is
// stored, a job_data POST right after its batch was stored, and a GET.
type Fault int

// The fault kinds.
const (
	// FaultErrorBeforeStore answers a job_data POST with 500, 502 or 503
	// before reading its body: nothing is stored.
	FaultErrorBeforeStore Fault = iota + 1
	// FaultResetBeforeStore resets the connection of a job_data POST
	// before reading its body: nothing is stored, and the client sees a
	// transport error (ECONNRESET, EPIPE or unexpected EOF).
	FaultResetBeforeStore
	// FaultErrorAfterStore stores the batch, then answers 500, 502 or 503.
	FaultErrorAfterStore
	// FaultResetAfterStore stores the batch, then resets the connection
	// (SO_LINGER 0): the client sees a transport error.
	FaultResetAfterStore
	// FaultStallAfterStore stores the batch, then withholds the 200 for
	// Faults.StallDuration, or until the client gives up or the emulator
	// closes: a client timeout with the batch stored.
	FaultStallAfterStore
	// FaultErrorOnGet answers a GET with 500, 502 or 503 (charged 1).
	FaultErrorOnGet
	// FaultRateLimitOnGet answers a GET with 429 and remaining 0, as if the
	// budget were spent (charged nothing).
	FaultRateLimitOnGet

	numFaults = iota + 1
)

var faultNames = [numFaults]string{
	FaultErrorBeforeStore: "error-before-store",
	FaultResetBeforeStore: "reset-before-store",
	FaultErrorAfterStore:  "error-after-store",
	FaultResetAfterStore:  "reset-after-store",
	FaultStallAfterStore:  "stall-after-store",
	FaultErrorOnGet:       "error-on-get",
	FaultRateLimitOnGet:   "429-on-get",
}

func (f Fault) String() string {
	if f > 0 && f < numFaults {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Faults sets the probability, in [0, 1], of each fault kind, and the
// latency added to every request. Within a phase each kind is drawn
// independently, in the order of the Fault constants, and the first one
// drawn applies. The zero value injects nothing.
type Faults struct {
	ErrorBeforeStore float64 // FaultErrorBeforeStore
	ResetBeforeStore float64 // FaultResetBeforeStore
	ErrorAfterStore  float64 // FaultErrorAfterStore
	ResetAfterStore  float64 // FaultResetAfterStore
	StallAfterStore  float64 // FaultStallAfterStore
	ErrorOnGet       float64 // FaultErrorOnGet
	RateLimitOnGet   float64 // FaultRateLimitOnGet

	// StallDuration is how long FaultStallAfterStore withholds the
	// answer. 0 means DefaultStallDuration (30 s).
	StallDuration time.Duration

	// Latency is added before every request is handled, plus a uniform
	// random extra in [0, Jitter).
	Latency time.Duration
	Jitter  time.Duration
}

func (f Faults) rate(k Fault) float64 {
	switch k {
	case FaultErrorBeforeStore:
		return f.ErrorBeforeStore
	case FaultResetBeforeStore:
		return f.ResetBeforeStore
	case FaultErrorAfterStore:
		return f.ErrorAfterStore
	case FaultResetAfterStore:
		return f.ResetAfterStore
	case FaultStallAfterStore:
		return f.StallAfterStore
	case FaultErrorOnGet:
		return f.ErrorOnGet
	case FaultRateLimitOnGet:
		return f.RateLimitOnGet
	}
	return 0
}

func (f Faults) validate() error {
	var errs []error
	for k := Fault(1); k < numFaults; k++ {
		if !isRate(f.rate(k)) {
			errs = append(errs, fmt.Errorf("Faults: rate %v of %v is outside [0, 1]", f.rate(k), k))
		}
	}
	if f.StallDuration < 0 || f.Latency < 0 || f.Jitter < 0 {
		errs = append(errs, errors.New("Faults: negative duration"))
	}
	return errors.Join(errs...)
}

// phase is where in a request a fault may be injected.
type phase []Fault

var (
	beforeStore = phase{FaultErrorBeforeStore, FaultResetBeforeStore}
	afterStore  = phase{FaultErrorAfterStore, FaultResetAfterStore, FaultStallAfterStore}
	onGet       = phase{FaultErrorOnGet, FaultRateLimitOnGet}
)

// injector holds the current Faults, the FailNext counts and the random
// source faults draw from. Safe for concurrent use.
type injector struct {
	mu   sync.Mutex
	f    Faults
	next [numFaults]int
	rng  *rand.Rand
}

// draw picks the fault to inject in phase p, or 0, and a 5xx status to use
// if it is an error fault. Pending FailNext counts come before chance.
func (in *injector) draw(p phase) (Fault, int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	status := [...]int{500, 502, 503}[in.rng.IntN(3)]
	for _, k := range p {
		if in.next[k] > 0 {
			in.next[k]--
			return k, status
		}
	}
	for _, k := range p {
		if r := in.f.rate(k); r > 0 && in.rng.Float64() < r {
			return k, status
		}
	}
	return 0, status
}

func (in *injector) latency() time.Duration {
	in.mu.Lock()
	defer in.mu.Unlock()
	d := in.f.Latency
	if in.f.Jitter > 0 {
		d += time.Duration(in.rng.Int64N(int64(in.f.Jitter)))
	}
	return d
}

func (in *injector) stall() time.Duration {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.f.StallDuration == 0 {
		return DefaultStallDuration
	}
	return in.f.StallDuration
}

// SetFaults replaces the fault probabilities and latency from now on.
// Pending FailNext counts are kept. Safe for concurrent use with requests.
func (e *Emulator) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("apitest: SetFaults: %w", err)
	}
	e.faults.mu.Lock()
	e.faults.f = f
	e.faults.mu.Unlock()
	return nil
}

// Faults returns the current fault settings.
func (e *Emulator) Faults() Faults {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	return e.faults.f
}

// FailNext makes the next n requests where kind applies fail with kind,
// whatever the probabilities: the next n job_data POSTs for the
// before-store kinds, the next n successfully stored batches for the
// after-store kinds, the next n GETs for the GET kinds. n <= 0 cancels
// pending ones. Safe for concurrent use.
func (e *Emulator) FailNext(kind Fault, n int) {
	if kind <= 0 || kind >= numFaults {
		return
	}
	e.faults.mu.Lock()
	e.faults.next[kind] = max(n, 0)
	e.faults.mu.Unlock()
}

// inject applies fault k (drawn with status) to the exchange: it answers
// or resets and reports true, or, for a stall, waits and reports false so
// the caller answers normally afterwards.
func (x *exchange) inject(k Fault, status int) bool {
	x.e.stats.faults[k].Add(1)
	x.fault = k
	switch k {
	case FaultResetBeforeStore, FaultResetAfterStore:
		x.reset()
	case FaultStallAfterStore:
		x.e.sleep(x.r.Context(), x.e.faults.stall())
		return false
	case FaultRateLimitOnGet:
		x.cost, x.remaining = 0, 0
		x.retryAfter(x.e.windowLeft(x.team, time.Now()))
		x.fail(http.StatusTooManyRequests, "rate limit exceeded (injected fault)")
	default:
		x.fail(status, fmt.Sprintf("injected fault: %v", k))
	}
	return true
}

// reset closes the connection abruptly: the kernel sends RST instead of
// FIN because SO_LINGER is 0. A ResponseWriter that cannot be hijacked
// (HTTP/2, httptest.ResponseRecorder) gets a 502 instead.
func (x *exchange) reset() {
	conn, _, err := http.NewResponseController(x.w).Hijack()
	if err != nil {
		x.fail(http.StatusBadGateway, "injected fault: connection reset (connection not hijackable)")
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
	x.status = 0
}

// sleep waits for d, the request's end or the emulator's Close, and
// reports whether the full d passed.
func (e *Emulator) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-e.closing:
	}
	return false
}
