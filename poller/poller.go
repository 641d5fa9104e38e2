package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
)

// Defaults of Config.
const (
	DefaultPerPage     = api.MaxPerPage
	DefaultMinInterval = 2 * time.Second
	DefaultMaxInterval = 30 * time.Second
	DefaultMaxInFlight = 32
)

// Client is the part of *api.Client the poller uses. Each call is one
// attempt; the poller retries. The poller makes calls from several
// goroutines at once (pages in flight, a job poll beside them), so a Client
// must be safe for concurrent use, as *api.Client is. When the answers'
// api.Response.Duration is zero (a fake), the poller reads one page at a
// time.
type Client interface {
	GetJob(ctx context.Context, id int64) (api.Job, api.Response, error)
	ListJobData(ctx context.Context, jobID int64, opts api.ListOptions) ([]api.Result, api.Response, error)
	ListResults(ctx context.Context, jobID int64, opts api.ListOptions) ([]api.Result, api.Response, error)
}

// Config configures a Poller. The zero value of each field is its default.
type Config struct {
	// PerPage is the rows asked for per listing call, 1..100. Zero means
	// DefaultPerPage (100), the most the API gives per call.
	PerPage int
	// MinInterval is the shortest sleep of a poll (between two job polls,
	// or between two wake-ups to fetch pages, but for one poll at the
	// expected end of a job nearly done) and the first gap between job
	// polls. Zero means DefaultMinInterval (2 s). It bounds the job polls,
	// at most 2 + ⌈T/MinInterval⌉ for a poll lasting T plus retried
	// attempts, and it is about the lag between the job's end and Run's.
	MinInterval time.Duration
	// MaxInterval is the longest sleep: the gap between job polls that a
	// moving job grows to, and the cap of the back-off while nothing moves.
	// Zero means DefaultMaxInterval (30 s), or MinInterval if that is
	// longer. While the job moves, job polls cost about T/MaxInterval.
	MaxInterval time.Duration
	// Retry retries each call (a job poll or a page). The zero value is the
	// budget package's defaults: api.IsRetryable errors, 10 minutes at most.
	Retry budget.RetryPolicy
	// MaxInFlight caps the listing calls in flight at once. How many are
	// in flight follows the measured latency and the pace the budget allows
	// (see the package doc): one at a time when the network answers faster
	// than the budget lets calls go, more when it does not. Zero means
	// DefaultMaxInFlight (32: a budget of 10 calls a second stays the pace
	// up to about 2.5 s of latency); 1 reads one page at a time.
	MaxInFlight int
	// ErrorsOnly hands over only the rows whose status is error, read from
	// the results once the job is done; see the package doc. Default false:
	// every row.
	ErrorsOnly bool
	// StartAfter is the cursor to resume from: Stats.Cursor of a poll of
	// the same job in the same mode. Zero means from the first row.
	StartAfter int64
	// Progress, if set, is called from Run's goroutine after every job poll
	// and after every page that handed over at least one result, with a
	// snapshot of the stats. When it is called, every result up to
	// Stats.Cursor has been handed to Run's fn and fn has returned: flush
	// what fn wrote, then persist the cursor. It should not block for long.
	Progress func(Stats)
	// Logger, if set, gets debug lines about the cadence (what the job
	// said, what was estimated, how long the poller sleeps). Nil is silent.
	Logger *slog.Logger
}

// Stats is a snapshot of a poll. The job's counters are those of the last
// job poll, except that a fresh full poll (StartAfter 0) raises Processed and
// Errors to what it has handed over, and takes a job whose every row it
// handed over as done.
type Stats struct {
	JobID     int64
	State     api.State // the job's state; "" before the first poll
	Total     int64     // the job's records
	Processed int64     // the job's final records, successes and errors
	Errors    int64     // the job's records that failed
	Rate      float64   // estimated processing rate, records per second; 0 until known

	Delivered       int64 // results handed over by this Run
	DeliveredErrors int64 // of which with status error
	// Cursor is the id of the last row handed over (or, in errors-only
	// mode, passed over): every row at or below it is done with. Resume
	// with Config.StartAfter = Cursor.
	Cursor int64

	// JobCalls and PageCalls count job polls and listing calls (job_data
	// or results), retried attempts included: every attempt sent. One
	// cancelled before it was sent (waiting for the budget when the
	// poller dropped it, or when Run returned) is not counted.
	JobCalls  int64
	PageCalls int64
	Retries   int64 // attempts that failed and were tried again
	// Window is how many listing calls may be in flight at once now: 1
	// while the network answers faster than the budget lets calls go;
	// about the budget's rate × the latency, plus a quarter, when not.
	Window int

	Started  time.Time // when Run started
	Finished time.Time // when Run returned; zero while it runs
	Complete bool      // the job is done and every wanted row was handed over
}

// Poller streams the final results of bulk jobs. Create it with New. One
// Poller runs one poll at a time; Stats may be called from any goroutine.
type Poller struct {
	c       Client
	cfg     Config
	running atomic.Bool
	stats   atomic.Pointer[Stats]
}

// New checks cfg, fills in its defaults and returns a Poller that calls c.
func New(c Client, cfg Config) (*Poller, error) {
	if c == nil {
		return nil, errors.New("poller: no client")
	}
	if cfg.PerPage == 0 {
		cfg.PerPage = DefaultPerPage
	}
	if cfg.MinInterval == 0 {
		cfg.MinInterval = DefaultMinInterval
	}
	if cfg.MaxInterval == 0 {
		cfg.MaxInterval = max(DefaultMaxInterval, cfg.MinInterval)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	switch {
	case cfg.PerPage < 1 || cfg.PerPage > api.MaxPerPage:
		return nil, fmt.Errorf("poller: PerPage %d is outside 1..%d", cfg.PerPage, api.MaxPerPage)
	case cfg.MinInterval < 0 || cfg.MaxInterval < 0:
		return nil, errors.New("poller: negative MinInterval or MaxInterval")
	case cfg.MinInterval > cfg.MaxInterval:
		return nil, fmt.Errorf("poller: MinInterval %v is above MaxInterval %v", cfg.MinInterval, cfg.MaxInterval)
	case cfg.MaxInFlight < 0:
		return nil, fmt.Errorf("poller: MaxInFlight %d is negative", cfg.MaxInFlight)
	case cfg.StartAfter < 0:
		return nil, fmt.Errorf("poller: StartAfter %d is negative", cfg.StartAfter)
	}
	p := &Poller{c: c, cfg: cfg}
	p.stats.Store(&Stats{Cursor: cfg.StartAfter})
	return p, nil
}

// Stats returns a snapshot of the current or last poll. Safe for concurrent
// use.
func (p *Poller) Stats() Stats { return *p.stats.Load() }

// Run polls job jobID and hands each final result to fn, in ascending id,
// until the job is done and every result was handed over; see the package
// doc. fn runs on Run's goroutine; if it returns an error, Run stops and
// returns it, and that result is not counted as handed over.
//
// Run returns the final stats and nil when the job is complete, or the
// error that stopped it: fn's, a call that failed for good (wrapped in a
// *budget.AttemptsError), or the context's. Stats.Cursor then tells where
// a new Run with Config.StartAfter resumes. Every Run starts at
// Config.StartAfter.
//
// A job still open, or executing but waiting its turn (processed 0), is
// polled with the back-off of the package doc until it moves. Each call is
// made on a goroutine of its own, so that several pages can be in flight;
// Run waits for every one of them before it returns, and returns promptly
// when ctx is done.
func (p *Poller) Run(ctx context.Context, jobID int64, fn func(api.Result) error) (Stats, error) {
	if !p.running.CompareAndSwap(false, true) {
		return p.Stats(), errors.New("poller: Run called while another Run is polling")
	}
	defer p.running.Store(false)
	r := &run{
		p:        p,
		jobID:    jobID,
		fn:       fn,
		cursor:   p.cfg.StartAfter,
		frontier: p.cfg.StartAfter,
		end:      -1,
		anchored: p.cfg.StartAfter != 0,
		lay:      layout{perPage: int64(p.cfg.PerPage)},
		pace:     newPacer(p.cfg),
		win:      newWindow(p.cfg.MaxInFlight),
		stats:    Stats{JobID: jobID, Cursor: p.cfg.StartAfter, Started: time.Now()},
	}
	if p.cfg.ErrorsOnly {
		// One page at a time: predicted cursors miss on error ids (see the
		// package doc and BENCHMARKS.md).
		r.win.max = 1
	}
	r.publish(false)
	err := r.loop(ctx)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = errors.Join(ctx.Err(), err)
		}
		err = fmt.Errorf("poller: job %d, cursor %d: %w", jobID, r.cursor, err)
	}
	r.stats.Finished = time.Now()
	r.stats.Complete = err == nil
	r.publish(false)
	return r.stats, err
}

// publish stores a snapshot for Stats and, if progress, calls the hook.
func (r *run) publish(progress bool) {
	if r.p.cfg.StartAfter == 0 && !r.p.cfg.ErrorsOnly {
		// A fresh full poll knows better than a job poll that may be
		// 30 s old: every row it handed over is final.
		s := &r.stats
		s.Processed = max(s.Processed, s.Delivered)
		s.Errors = max(s.Errors, s.DeliveredErrors)
		if s.State == api.StateExecuting && s.Total > 0 && s.Processed >= s.Total {
			s.State = api.StateDone
		}
	}
	r.stats.JobCalls, r.stats.PageCalls, r.stats.Retries = r.jobCalls.Load(), r.pageCalls.Load(), r.retries.Load()
	r.stats.Window = r.win.size
	s := r.stats
	r.p.stats.Store(&s)
	if progress && r.p.cfg.Progress != nil {
		r.p.cfg.Progress(s)
	}
}
