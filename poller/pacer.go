package poller

import (
	"time"

	"github.com/bulkload/bulkload/api"
)

// pacer decides when to fetch a page and when to poll the job; see the
// package doc. It holds no clock: callers pass the time, so its decisions are
// plain functions of what it was told. Not safe for concurrent use; one poll
// owns one pacer.
type pacer struct {
	perPage    int64
	min, max   time.Duration
	errorsOnly bool

	polled    time.Time // the last job poll
	processed int64     // the job's processed counter then
	total     int64
	done      bool
	samples   [rateSamples]sample // job polls since the job last stood still
	nsamples  int
	rate      float64       // records per second; 0 while unknown
	idle      time.Duration // the sleep while nothing moves; 0 while moving
	gap       time.Duration // the time between job polls while the job moves

	// ahead estimates the final rows beyond the cursor at the last job poll:
	// the processed rows not handed over yet. It is exact for a fresh poll
	// (cursor 0) and calibrated by the first short page of a resumed one;
	// known says which.
	ahead float64
	known bool
	// slack estimates how many of the rows ahead are stuck behind a row
	// that is not final yet (out-of-order execution), or were never there
	// (the rate was overestimated): learned from pages cut short, decayed
	// while pages come back full.
	slack float64
	// shortSlept says a poll already came sooner than MinInterval after
	// the one before, because the job was expected to end: that happens
	// once.
	shortSlept bool
	// early counts the rows handed over before the first job poll
	// answered (the first page goes out with it).
	early int64
}

const (
	// rateSamples is how many job polls the processing rate is measured over.
	rateSamples = 4
	// slackGrowth is how far above the rows found stuck behind a short page
	// the slack is set: the lag of out-of-order execution grows while a job
	// warms up, and a slack too low costs calls, one too high only latency.
	slackGrowth = 1.5
	// slackDecay: a full page drops 1/slackDecay of the slack, so a slack
	// learned in a burst of retries does not delay pages forever.
	slackDecay = 32
	// margin stretches the sleeps computed from the rate (by at most half
	// of MinInterval), so that what was waited for (a full page, the job's
	// end) has likely happened on waking.
	margin = 1.1
)

type sample struct {
	t time.Time
	p int64
}

func newPacer(cfg Config) *pacer {
	return &pacer{
		perPage:    int64(cfg.PerPage),
		min:        cfg.MinInterval,
		max:        cfg.MaxInterval,
		errorsOnly: cfg.ErrorsOnly,
		known:      cfg.StartAfter == 0,
	}
}

// job records a job poll made at now.
func (p *pacer) job(now time.Time, j api.Job) {
	started := !p.polled.IsZero()
	if started && now.Sub(p.polled) < p.min {
		p.shortSlept = true
	}
	moved := int64(0)
	if started {
		moved = max(j.Processed-p.processed, 0)
	} else if p.known {
		// A fresh poll: every processed row is ahead, but those the first
		// page handed over already.
		p.ahead = float64(j.Processed - p.early)
	}
	p.ahead += float64(moved)
	p.processed = max(j.Processed, p.processed)
	p.total = j.Total
	p.done = j.State == api.StateDone

	stuck := started && moved == 0 && !p.done
	switch {
	case stuck:
		// Waiting its turn, or stalled: back off, and measure the rate
		// afresh once it moves.
		p.idle = min(max(2*now.Sub(p.polled), p.min), p.max)
		p.nsamples, p.rate, p.gap = 0, 0, 0
	default:
		p.idle = 0
		p.gap = min(max(2*p.gap, p.min), p.max)
	}
	if p.nsamples == rateSamples {
		copy(p.samples[:], p.samples[1:])
		p.nsamples--
	}
	p.samples[p.nsamples] = sample{now, p.processed}
	p.nsamples++
	first := p.samples[0]
	switch dt := now.Sub(first.t).Seconds(); {
	case dt > 0 && p.processed > first.p:
		p.rate = float64(p.processed-first.p) / dt
		if first.p == 0 && !p.done {
			// The job started between the polls: the rise over the whole
			// gap underestimates the rate, its time stamps do not.
			p.rate = max(p.rate, stampRate(j))
		}
	case p.nsamples == 1 && !p.done:
		// One poll cannot measure a rise, but the job's time stamps tell
		// how long its processed records took: a first estimate, so that a
		// job nearly done is not left a whole MinInterval.
		p.rate = stampRate(j)
	}
	p.polled = now
}

// stampRate returns the rate the job's time stamps tell: its processed
// records over the time from started_at to updated_at; 0 if they do not.
func stampRate(j api.Job) float64 {
	if j.Processed <= 0 || j.StartedAt == nil || j.UpdatedAt == nil {
		return 0
	}
	if dt := j.UpdatedAt.Sub(*j.StartedAt).Seconds(); dt > 0 {
		return float64(j.Processed) / dt
	}
	return 0
}

// estimate returns the processed counter extrapolated from the last job
// poll to now with the measured rate.
func (p *pacer) estimate(now time.Time) float64 {
	e := float64(p.processed)
	if p.rate > 0 && !p.done {
		e = min(e+p.rate*now.Sub(p.polled).Seconds(), float64(p.total))
	}
	return e
}

// aheadAt estimates the final rows beyond the cursor at now.
func (p *pacer) aheadAt(now time.Time) float64 {
	return p.ahead + p.estimate(now) - float64(p.processed)
}

// wantPage reports whether a page should be read at now, pending being
// the rows beyond the cursor already asked for (pages in flight, or read
// and not handed over yet).
func (p *pacer) wantPage(now time.Time, pending float64) bool {
	switch {
	case p.done:
		return true
	case p.errorsOnly || p.estimate(now) < 1:
		return false
	case !p.known:
		return pending == 0
	}
	return p.aheadAt(now)-p.slack-pending >= float64(p.perPage)
}

// page records a fetched page of n rows of which the first delivered were
// handed over at now; blocked says a row that is not final stopped the page.
func (p *pacer) page(now time.Time, delivered, n int, blocked bool) {
	if p.errorsOnly {
		return
	}
	if p.polled.IsZero() {
		p.early += int64(delivered)
		return
	}
	p.ahead -= float64(delivered)
	zero := float64(p.processed) - p.estimate(now) // the ahead that makes aheadAt(now) 0
	switch {
	case blocked && !p.known:
		// A resumed poll learns where it stands: nothing more is
		// deliverable now. The rows stuck behind the blocker are unknown.
		p.ahead, p.known = zero, true
	case blocked:
		p.slack = max(p.slack, p.aheadAt(now), 0) * slackGrowth
	case int64(n) < p.perPage:
		// Every row after the cursor is final and handed over.
		p.ahead, p.known = zero, true
	default:
		p.ahead = max(p.ahead, zero)
		p.slack -= p.slack / slackDecay
	}
}

// after returns when rows more records should be processed, stretched by
// the margin; far in the future while the rate is unknown.
func (p *pacer) after(now time.Time, rows float64) time.Time {
	if p.rate <= 0 {
		return now.Add(p.max)
	}
	d := time.Duration(max(rows, 0) / p.rate * float64(time.Second))
	return now.Add(d + min(time.Duration(float64(d)*(margin-1)), p.min/2))
}

// pollAt returns when to poll the job next: when a poll is due (the gap
// grows from MinInterval to MaxInterval while the job moves, the back-off
// while it does not) or when the job should be done, and never sooner than
// MinInterval after the last poll, except once: when the job should end
// sooner than that, the poll comes when it should end.
func (p *pacer) pollAt(now time.Time) time.Time {
	if p.idle > 0 {
		return p.polled.Add(p.idle)
	}
	if p.rate <= 0 {
		return p.polled.Add(p.min)
	}
	at := p.polled.Add(p.gap)
	end := p.after(now, float64(p.total)-p.estimate(now))
	if end.Before(at) {
		at = end
	}
	floor := p.polled.Add(p.min)
	if !p.shortSlept && end.Before(floor) {
		floor = p.polled.Add(p.min / 20)
	}
	if at.Before(floor) {
		at = floor
	}
	return at
}

// pageAt returns when the next page should be full, pending rows beyond
// the cursor being already asked for; far in the future while the rate is
// unknown or in errors-only mode.
func (p *pacer) pageAt(now time.Time, pending float64) time.Time {
	if p.errorsOnly {
		return now.Add(p.max)
	}
	return p.after(now, float64(p.perPage)+p.slack+pending-p.aheadAt(now))
}
