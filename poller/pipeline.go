package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkload/bulkload/api"
)

// run is the state of one Run. Its fields belong to Run's goroutine, except
// the atomic counters, which the call goroutines add to.
type run struct {
	p     *Poller
	jobID int64
	fn    func(api.Result) error
	pace  *pacer
	win   *window
	stats Stats // Run's own copy; published copies go to p.stats

	job     api.Job // the last job poll's answer
	polled  bool    // job holds an answer
	polling bool    // a job poll is in flight

	cursor   int64      // the last row handed over; see the package doc
	frontier int64      // where the next predicted page starts: the first hole; see firstHole
	end      int64      // a short page showed no row after end; -1 while unknown
	anchored bool       // frontier is a real id: a page showed rows, or the poll resumed
	spacing  [4]float64 // ids per row within the last full pages; see step
	lay      layout     // the runs and gaps of the job's ids, known and predicted
	flights  []*flight  // the pages in flight
	stored   []*page    // pages answered and not used up
	blocked  time.Time
	ended    bool // every row was handed over (a short page, all final, was used up)
	pageWake time.Time

	answers chan answer
	wg      sync.WaitGroup

	jobCalls, pageCalls, retries atomic.Int64
}

// answer is what a call goroutine sends back.
type answer struct {
	page   *page   // a listing call's page; nil for a job poll
	flight *flight // the page's flight; nil for a job poll
	job    api.Job // a job poll's answer
	err    error
	at     time.Time // when the answer came
	// For the window, when the first attempt succeeded: the calls in
	// flight when it left, how long the call took and how much of it the
	// network did (api.Response.Duration).
	inFlight  int
	took, lat time.Duration
}

// loop runs the poll: it starts calls, each on a goroutine of its own, and
// uses their answers as they come, until the job is complete, a call fails
// for good, fn fails or ctx is done. Every goroutine it started has
// returned when it returns.
func (r *run) loop(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	r.answers = make(chan answer, r.win.max+1) // never more calls in flight
	defer r.wg.Wait()
	defer cancel()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	r.startPoll(ctx)
	if !r.p.cfg.ErrorsOnly {
		// The first page goes out with the first job poll: on a job that
		// is done, or well on its way, it saves a round trip; on one that
		// has not started it costs a call.
		r.fetch(ctx, r.cursor)
	}
	for {
		if r.polled {
			if r.complete() {
				return nil
			}
			if err := r.launch(ctx, time.Now()); err != nil {
				return err
			}
		}
		if wake, ok := r.wakeAt(time.Now()); ok {
			timer.Reset(max(time.Until(wake), 0))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case a := <-r.answers:
			if err := r.handle(ctx, a); err != nil {
				return err
			}
		case <-timer.C:
			if now := time.Now(); !r.polling && r.polled && !r.pace.done && !now.Before(r.pace.pollAt(now)) {
				r.startPoll(ctx)
			}
		}
	}
}

// complete reports whether every wanted row was handed over. A fresh poll
// knows it by count, so that no listing call is needed to find the end: in
// full mode once it has handed over as many rows as the job holds (the
// total is fixed once the job executes), in errors-only mode once the job
// is done and it has handed over the job's errors.
func (r *run) complete() bool {
	job := r.job
	switch {
	case r.ended:
		return true
	case r.p.cfg.StartAfter != 0:
		return false
	case r.p.cfg.ErrorsOnly:
		return job.State == api.StateDone && r.stats.DeliveredErrors >= job.Errors
	}
	return job.State != api.StateOpen && r.stats.Delivered >= job.Total
}

// wakeAt returns when the loop should wake if no answer comes first: for
// the next job poll, or for the next page while none is in flight.
func (r *run) wakeAt(now time.Time) (time.Time, bool) {
	var wake time.Time
	if r.polled && !r.polling && !r.pace.done {
		wake = r.pace.pollAt(now)
	}
	if len(r.flights) == 0 && !r.pageWake.IsZero() && (wake.IsZero() || r.pageWake.Before(wake)) {
		wake = r.pageWake
	}
	return wake, !wake.IsZero()
}

func (r *run) startPoll(ctx context.Context) {
	r.polling = true
	r.spawn(ctx, ctx, nil, func(ctx context.Context, a *answer) {
		var job api.Job
		err := r.retry(ctx, &r.jobCalls, a, func(ctx context.Context) (api.Response, error) {
			var resp api.Response
			var err error
			job, resp, err = r.p.c.GetJob(ctx, r.jobID)
			return resp, err
		})
		if err != nil {
			err = fmt.Errorf("polling the job: %w", err)
		}
		a.job, a.err = job, err
	})
}

// spawn runs call on a goroutine of its own, with callCtx, and sends its
// answer to the loop, or drops it once ctx (the loop's) is done. The
// goroutine lives as long as the call (its retries included); loop waits
// for it before returning. fl is the page's flight, nil for a job poll.
func (r *run) spawn(ctx, callCtx context.Context, fl *flight, call func(context.Context, *answer)) {
	a := answer{inFlight: len(r.flights) + 1, flight: fl}
	if r.polling {
		a.inFlight++
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		call(callCtx, &a)
		a.at = time.Now()
		// The channel holds an answer for every call that may be in
		// flight, but a cancelled page's goroutine may still be on its way
		// out beside them: never block on the send once the loop is gone.
		select {
		case r.answers <- a:
		case <-ctx.Done():
		}
	}()
}

// retry runs op under the configured policy, counting in calls the
// attempts spent (see spent). When the first attempt succeeds, it notes in
// a how long it took.
func (r *run) retry(ctx context.Context, calls *atomic.Int64, a *answer, op func(context.Context) (api.Response, error)) error {
	return r.p.cfg.Retry.Do(ctx, func(ctx context.Context, attempt int) error {
		start := time.Now()
		resp, err := op(ctx)
		if spent(ctx, err) {
			calls.Add(1)
			if attempt > 1 {
				r.retries.Add(1)
			}
		}
		if err == nil && attempt == 1 {
			a.took, a.lat = time.Since(start), resp.Duration
		}
		return err
	})
}

// spent reports whether an attempt that returned err cost a call: every
// attempt does, but one cancelled before it was sent (while it waited for
// the budget, say), which no server saw: the client says so with an
// *api.Error that is neither Sent nor an answer (no StatusCode).
func spent(ctx context.Context, err error) bool {
	var ae *api.Error
	return err == nil || ctx.Err() == nil || !errors.As(err, &ae) || ae.Sent || ae.StatusCode != 0
}

// handle uses one answer.
func (r *run) handle(ctx context.Context, a answer) error {
	if a.flight != nil && a.flight.state.Load() == flightCancelled {
		return nil // dropped as it waited for the budget; no longer in flight
	}
	inFlight := len(r.flights)
	if r.polling {
		inFlight++
	}
	r.win.observe(max(a.inFlight, inFlight), a.took, a.lat)
	if a.page == nil {
		r.polling = false
		if a.err != nil {
			return a.err
		}
		r.job, r.polled = a.job, true
		r.pace.job(a.at, a.job)
		r.pageWake = time.Time{}
		s := &r.stats
		s.State, s.Total, s.Processed, s.Errors, s.Rate = a.job.State, a.job.Total, a.job.Processed, a.job.Errors, r.pace.rate
		r.publish(true)
		r.log(ctx, "job polled", slog.String("state", string(a.job.State)),
			slog.Int64("processed", a.job.Processed), slog.Int64("total", a.job.Total),
			slog.Float64("rate", r.pace.rate), slog.Int("window", r.win.size))
		return nil
	}
	r.land(a.page, a.flight, a.at, a.err)
	if a.err != nil {
		return a.err
	}
	n, err := r.assemble()
	if n > 0 {
		r.publish(true)
	}
	return err
}

func (r *run) log(ctx context.Context, msg string, attrs ...slog.Attr) {
	if l := r.p.cfg.Logger; l != nil {
		l.LogAttrs(ctx, slog.LevelDebug, "poller: "+msg, append(attrs, slog.Int64("job", r.jobID))...)
	}
}
