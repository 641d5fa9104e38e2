package uploader

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/manifest"
)

// Defaults of Config.
const (
	DefaultWorkers      = 4
	DefaultDrainTimeout = 30 * time.Second
)

// Source yields the batches to upload, in Seq order, and io.EOF after the
// last one; a *chunker.Chunker is one. A resumed upload must be given a
// Source that yields the same batches from the start: batches already
// stored are recognised by Seq and hash and skipped.
type Source interface {
	Next() (Batch, error)
}

// Client is what the uploader needs of *api.Client. Pace it with a
// budget.Budget set as api.Config.Budget: every attempt then waits for the
// team's shared limiter.
type Client interface {
	CreateJobData(ctx context.Context, jobID int64, body []byte) (int, api.Response, error)
	GetJob(ctx context.Context, id int64) (api.Job, api.Response, error)
	ListJobData(ctx context.Context, jobID int64, opts api.ListOptions) ([]api.Result, api.Response, error)
}

// Config configures an Uploader. The zero value of each field is its
// default; Client is required.
type Config struct {
	// Client makes the API calls. Required.
	Client Client
	// Workers is how many uploads run in parallel. Zero means 4. At most
	// Workers+1 batches are read ahead or in flight.
	Workers int
	// Retry bounds the retries of each batch and of each reconciliation
	// call; the zero value is budget's defaults (10 minutes per batch).
	// Its Retryable is replaced: the uploader decides what is retried.
	Retry budget.RetryPolicy
	// Manifest is the upload's state: a manifest loaded from StateDir to
	// resume, or nil to start afresh. New copies it; Uploader.Manifest
	// returns the current state.
	Manifest *manifest.Manifest
	// StateDir, if set, is where the manifest is saved, durably, before
	// each batch goes out and after each batch is stored. Empty means
	// none: an interrupted upload cannot then be resumed. With Manifest
	// nil, a manifest already in StateDir is loaded and continued (so a
	// program run again after a crash resumes rather than storing records
	// twice), and Upload refuses, with ErrManifestMismatch, a job other
	// than the one it is of. Package load does all of this for whole loads.
	StateDir string
	// DrainTimeout bounds how long calls already under way may go on after
	// ctx is canceled or the upload fails, reconciliation included. Zero
	// means 30 s.
	DrainTimeout time.Duration
	// OnBatch, if set, is called once for every batch that is stored or
	// skipped, from the worker goroutines and so concurrently; it must be
	// quick. Batches that fail are reported by Upload's error.
	OnBatch func(BatchResult)
	// Logger, if set, receives reconciliations and failures. Nil: silent.
	Logger *slog.Logger
	// Job, if set, is the job as its creator just received it (open,
	// total 0): Upload then takes its state and total from it instead of
	// reading the job first, which saves a round trip. Leave it nil for a
	// job read earlier or filled by others: Upload must see it as it is.
	Job *api.Job
	// ResendUnresolvable decides what happens when the uploads in doubt
	// cannot be told apart (an input that repeats records; see the package
	// doc). False, the default, stops with ErrUnresolvable: nothing is
	// stored twice, and resuming meets the same doubt. True sends them all
	// again: every record is then in the job, and those of them the job
	// already held (the count is exact) are stored a second time, counted
	// in Stats.Duplicates and the manifest. For upsert jobs a second copy
	// of a record repeats the same upsert.
	ResendUnresolvable bool
}

// BatchResult describes one batch to Config.OnBatch.
type BatchResult struct {
	Seq                 int
	Records             int
	Bytes               int
	FirstLine, LastLine int
	// Attempts is how many times this run sent the batch; 0 when skipped.
	Attempts int
	// Reconciled reports that the batch's upload got no answer and
	// reconciliation found it stored.
	Reconciled bool
	// Skipped reports that an earlier run had stored the batch.
	Skipped bool
}

// Stats is a snapshot of an Uploader's counters, cumulative over its
// Upload calls.
type Stats struct {
	Batches, Records, Bytes int64 // stored by this Uploader
	Skipped, SkippedRecords int64 // found stored by an earlier run
	Calls                   int64 // API calls made, reconciliation included
	Retries                 int64 // uploads of a batch after its first
	RateLimited             int64 // calls answered 429
	InDoubt                 int64 // uploads whose outcome was unknown
	Reconciliations         int64 // rounds of reconciliation
	ContentReconciliations  int64 // of which had to compare records
	ReconcileCalls          int64 // calls made to reconcile
	Duplicates              int64 // records stored twice by ResendUnresolvable
}

type counters struct {
	batches, records, bytes, skipped, skippedRecords  atomic.Int64
	calls, retries, rateLimited, inDoubt              atomic.Int64
	reconciliations, contentReconciliations, recCalls atomic.Int64
	duplicates                                        atomic.Int64
}

// Uploader stores batches in a bulk job; see the package doc. Create it
// with New. Its methods are safe for concurrent use, but it runs one Upload
// at a time.
type Uploader struct {
	client  Client
	workers int
	retry   budget.RetryPolicy
	drain   time.Duration
	onBatch func(BatchResult)
	logger  *slog.Logger
	resend  bool     // Config.ResendUnresolvable
	known   *api.Job // Config.Job: used by the first Upload only
	cp      *checkpoint
	running atomic.Bool
	stats   counters
}

// New checks cfg and returns an Uploader.
func New(cfg Config) (*Uploader, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("uploader: Config.Client is nil")
	case cfg.Workers < 0:
		return nil, errors.New("uploader: Config.Workers is negative")
	case cfg.DrainTimeout < 0:
		return nil, errors.New("uploader: Config.DrainTimeout is negative")
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	m := &manifest.Manifest{}
	if cfg.Manifest != nil {
		m = cfg.Manifest.Clone()
	} else if cfg.StateDir != "" {
		saved, err := manifest.Load(cfg.StateDir)
		switch {
		case err == nil:
			m = saved
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("uploader: %w", err)
		}
	}
	cp, err := newCheckpoint(m, cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("uploader: %w", err)
	}
	retry := cfg.Retry
	retry.Retryable = api.IsRetryable
	return &Uploader{client: cfg.Client, workers: cfg.Workers, retry: retry, drain: cfg.DrainTimeout,
		onBatch: cfg.OnBatch, logger: cfg.Logger, resend: cfg.ResendUnresolvable, known: cfg.Job, cp: cp}, nil
}

// Stats returns a snapshot of the counters; safe to call at any time,
// during an Upload too.
func (u *Uploader) Stats() Stats {
	c := &u.stats
	return Stats{
		Batches: c.batches.Load(), Records: c.records.Load(), Bytes: c.bytes.Load(),
		Skipped: c.skipped.Load(), SkippedRecords: c.skippedRecords.Load(),
		Calls: c.calls.Load(), Retries: c.retries.Load(), RateLimited: c.rateLimited.Load(),
		InDoubt: c.inDoubt.Load(), Reconciliations: c.reconciliations.Load(),
		ContentReconciliations: c.contentReconciliations.Load(), ReconcileCalls: c.recCalls.Load(),
		Duplicates: c.duplicates.Load(),
	}
}

// Manifest returns a copy of the upload's manifest as it stands; safe to
// call at any time.
func (u *Uploader) Manifest() *manifest.Manifest { return u.cp.snapshot() }

// Upload stores every batch of src in job jobID, each exactly once, and
// returns when all are stored, or on the first batch that cannot be, or
// when ctx is canceled. On cancellation it stops sending new batches, lets
// calls under way finish (at most Config.DrainTimeout), reconciles their
// outcome if it can, saves the manifest and returns an error that wraps
// context.Canceled and tells how to resume. Every goroutine it starts has
// exited when it returns.
func (u *Uploader) Upload(ctx context.Context, jobID int64, src Source) (Stats, error) {
	if !u.running.CompareAndSwap(false, true) {
		return u.Stats(), errors.New("uploader: an Upload is already running")
	}
	defer u.running.Store(false)
	if err := u.cp.bind(jobID); err != nil {
		return u.Stats(), fmt.Errorf("uploader: %w", err)
	}
	stop, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	calls, endCalls := drainContext(stop, u.drain)
	defer endCalls()
	r := &run{u: u, jobID: jobID, cp: u.cp, tr: newTracker(2 * u.workers),
		stop: stop, cancel: cancel, calls: calls, stats: &u.stats}
	u.cp.recent = r.tr.retainedSeqs
	defer func() { u.cp.recent = nil }()

	err := r.upload(src)
	if serr := u.cp.commit(); serr != nil {
		err = errors.Join(err, fmt.Errorf("uploader: saving the manifest: %w", serr))
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		err = r.interrupted(ctx.Err())
	}
	return u.Stats(), err
}

// interrupted describes a canceled Upload and how to resume it.
func (r *run) interrupted(cause error) error {
	up := r.cp.upload()
	how := "no state directory was set, so it cannot be resumed"
	if r.cp.dir != "" {
		how = fmt.Sprintf("run it again with the state directory %s to resume", r.cp.dir)
	}
	return fmt.Errorf("uploader: upload into job %d stopped with %d records stored; %s: %w",
		r.jobID, up.AckedRecords, how, cause)
}

// drainContext returns a context for API calls: it keeps stop's values
// but ends only d after stop ends, or when the returned func is called.
// That func waits for the goroutine it starts.
func drainContext(stop context.Context, d time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(stop))
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-quit:
			return
		case <-stop.Done():
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-quit:
		case <-t.C:
			cancel()
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(quit)
			<-done
			cancel()
		})
	}
}
