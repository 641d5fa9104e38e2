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
)

// Client is the part of *api.Client the poller uses. Each call is one
// attempt; the poller retries.
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
	// or between two wake-ups to fetch pages) and the first gap between job
	// polls. Zero means DefaultMinInterval (2 s). It bounds the job polls,
	// at most 1 + ⌈T/MinInterval⌉ for a poll lasting T plus retried
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

	JobCalls  int64 // job polls, attempts included
	PageCalls int64 // listing calls (job_data or results), attempts included
	Retries   int64 // attempts that failed and were tried again

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
	switch {
	case cfg.PerPage < 1 || cfg.PerPage > api.MaxPerPage:
		return nil, fmt.Errorf("poller: PerPage %d is outside 1..%d", cfg.PerPage, api.MaxPerPage)
	case cfg.MinInterval < 0 || cfg.MaxInterval < 0:
		return nil, errors.New("poller: negative MinInterval or MaxInterval")
	case cfg.MinInterval > cfg.MaxInterval:
		return nil, fmt.Errorf("poller: MinInterval %v is above MaxInterval %v", cfg.MinInterval, cfg.MaxInterval)
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
// polled with the back-off of the package doc until it moves. Run starts no
// goroutines: it sleeps and calls on the caller's goroutine, and returns
// promptly when ctx is done.
func (p *Poller) Run(ctx context.Context, jobID int64, fn func(api.Result) error) (Stats, error) {
	if !p.running.CompareAndSwap(false, true) {
		return p.Stats(), errors.New("poller: Run called while another Run is polling")
	}
	defer p.running.Store(false)
	r := &run{
		p:      p,
		jobID:  jobID,
		fn:     fn,
		cursor: p.cfg.StartAfter,
		pace:   newPacer(p.cfg),
		stats:  Stats{JobID: jobID, Cursor: p.cfg.StartAfter, Started: time.Now()},
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

// run is the state of one Run.
type run struct {
	p      *Poller
	jobID  int64
	fn     func(api.Result) error
	cursor int64
	pace   *pacer
	stats  Stats // Run's own copy; published copies go to p.stats
}

func (r *run) loop(ctx context.Context) error {
	cfg := &r.p.cfg
	job, err := r.pollJob(ctx)
	if err != nil {
		return err
	}
	for {
		for r.pace.wantPage(time.Now()) {
			if r.finished(job) {
				return nil
			}
			rows, err := r.fetch(ctx)
			if err != nil {
				return err
			}
			n, blocked, err := r.deliver(rows)
			r.pace.page(time.Now(), n, len(rows), blocked)
			if n > 0 {
				r.publish(true)
			}
			if err != nil {
				return err
			}
			if r.finished(job) {
				return nil
			}
			if job.State == api.StateDone {
				if !blocked && len(rows) < cfg.PerPage {
					return nil // the end of a done job's rows
				}
				if blocked {
					r.log(ctx, "the job is done but a row is not final; polling again")
				}
			}
			if blocked {
				break
			}
		}
		d, poll := r.pace.next(time.Now())
		r.log(ctx, "sleeping", slog.Duration("sleep", d), slog.Bool("poll", poll),
			slog.Int64("processed", job.Processed), slog.Int64("total", job.Total),
			slog.Float64("ahead", r.pace.aheadAt(time.Now())), slog.Float64("slack", r.pace.slack),
			slog.Float64("rate", r.pace.rate))
		if err := sleep(ctx, d); err != nil {
			return err
		}
		if poll {
			if job, err = r.pollJob(ctx); err != nil {
				return err
			}
		}
	}
}

// finished reports whether a fresh poll has handed over all it wants, so
// that no listing call is needed to find the end: in full mode once it has
// handed over as many rows as the job holds (the total is fixed once the job
// executes), in errors-only mode once the job is done and it has handed
// over the job's errors.
func (r *run) finished(job api.Job) bool {
	switch {
	case r.p.cfg.StartAfter != 0:
		return false
	case r.p.cfg.ErrorsOnly:
		return job.State == api.StateDone && r.stats.DeliveredErrors >= job.Errors
	}
	return job.State != api.StateOpen && r.stats.Delivered >= job.Total
}

func (r *run) pollJob(ctx context.Context) (api.Job, error) {
	var job api.Job
	err := r.retry(ctx, &r.stats.JobCalls, func(ctx context.Context) error {
		var err error
		job, _, err = r.p.c.GetJob(ctx, r.jobID)
		return err
	})
	if err != nil {
		return job, fmt.Errorf("polling the job: %w", err)
	}
	r.pace.job(time.Now(), job)
	s := &r.stats
	s.State, s.Total, s.Processed, s.Errors, s.Rate = job.State, job.Total, job.Processed, job.Errors, r.pace.rate
	r.publish(true)
	return job, nil
}

func (r *run) fetch(ctx context.Context) ([]api.Result, error) {
	opts := api.ListOptions{After: r.cursor, PerPage: r.p.cfg.PerPage}
	list, what := r.p.c.ListJobData, "listing job data"
	if r.p.cfg.ErrorsOnly {
		opts.Statuses = []api.Status{api.StatusError}
		list, what = r.p.c.ListResults, "listing error results"
	}
	var rows []api.Result
	err := r.retry(ctx, &r.stats.PageCalls, func(ctx context.Context) error {
		var err error
		rows, _, err = list(ctx, r.jobID, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s after id %d: %w", what, r.cursor, err)
	}
	return rows, nil
}

// deliver hands the final prefix of rows to fn, moving the cursor row by
// row, and reports how many rows it handed over and whether a row that is
// not final stopped it.
func (r *run) deliver(rows []api.Result) (n int, blocked bool, err error) {
	for _, row := range rows {
		switch {
		case row.ID <= r.cursor:
			continue // never hand a row over twice, whatever the server sends
		case !row.Status.Final():
			return n, true, nil
		case r.p.cfg.ErrorsOnly && row.Status != api.StatusError:
			r.cursor = row.ID // the job is done: a success row is final and unwanted
			r.stats.Cursor = row.ID
			continue
		}
		if err := r.fn(row); err != nil {
			return n, false, fmt.Errorf("handling result %d: %w", row.ID, err)
		}
		n++
		r.cursor = row.ID
		r.stats.Cursor = row.ID
		r.stats.Delivered++
		if row.Status == api.StatusError {
			r.stats.DeliveredErrors++
		}
	}
	return n, false, nil
}

// retry runs op under the configured policy, counting attempts in calls.
func (r *run) retry(ctx context.Context, calls *int64, op func(context.Context) error) error {
	return r.p.cfg.Retry.Do(ctx, func(ctx context.Context, attempt int) error {
		*calls++
		if attempt > 1 {
			r.stats.Retries++
		}
		return op(ctx)
	})
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
	s := r.stats
	r.p.stats.Store(&s)
	if progress && r.p.cfg.Progress != nil {
		r.p.cfg.Progress(s)
	}
}

func (r *run) log(ctx context.Context, msg string, attrs ...slog.Attr) {
	if l := r.p.cfg.Logger; l != nil {
		l.LogAttrs(ctx, slog.LevelDebug, "poller: "+msg, append(attrs, slog.Int64("job", r.jobID))...)
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
