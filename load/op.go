package load

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/manifest"
	"github.com/bulkload/bulkload/poller"
	"github.com/bulkload/bulkload/uploader"
)

// op is one operation of a Loader: a run, resume, upload or results read,
// from its first step to its report.
type op struct {
	l      *Loader
	client *api.Client
	set    manifest.Run // the settings, as saved in the manifest
	reader *Input       // the input as given (Reader for stdin); nil for results
	jobID  int64
	job    api.Job // the job as last read
	m      *manifest.Manifest
	dir    string // this operation's state directory; "" when not resumable
	lock   *jobLock
	dryRun bool
	fresh  bool          // the op created the job: o.job is as created
	rtt    time.Duration // the last job call's round trip

	start   time.Time
	check   chunker.Stats // the input as the check pass read it
	checked bool
	retries atomic.Int64 // the op's own calls retried (create, get, ready)

	// Standard input is read once: primeStdin opens it and reads its first
	// batch before the job is created, and upload goes on from there.
	stdin    *chunker.Chunker
	first    *chunker.Batch
	stdinRej *rejectFile
	warned   map[string]bool // the chunker's warnings passed on

	mu     sync.Mutex // guards phase, what setPhase publishes and the components below, for stats
	phase  Phase
	pubJob int64  // jobID as of the last setPhase
	pubSrc string // source() as of the last setPhase
	chk    *chunker.Chunker
	up     *uploader.Uploader
	poll   *poller.Poller

	rep Report
}

func (l *Loader) newOp(command string) *op {
	base := ""
	if l.cfg.Client != nil {
		base = l.cfg.Client.BaseURL()
	}
	return &op{l: l, client: l.cfg.Client, start: time.Now(), set: manifest.Run{
		Command: command, BaseURL: base, ResultsDir: abs(l.cfg.ResultsDir),
		ResultsFormat: l.cfg.ResultsFormat, ErrorsOnly: l.cfg.ErrorsOnly, Workers: l.cfg.Workers,
	}, rep: Report{Command: command, ErrorsOnly: l.cfg.ErrorsOnly}}
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// setPhase starts phase p and publishes the job and input to stats.
func (o *op) setPhase(p Phase) {
	src := o.source()
	o.mu.Lock()
	o.phase, o.pubJob, o.pubSrc = p, o.jobID, src
	o.mu.Unlock()
}

func (o *op) stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := Stats{Command: o.rep.Command, Phase: o.phase, JobID: o.pubJob, Source: o.pubSrc, Check: o.check, Checked: o.checked,
		BudgetRemaining: -1, Elapsed: time.Since(o.start)}
	if o.chk != nil && !o.checked {
		s.Check = o.chk.Stats()
	}
	if o.up != nil {
		s.Upload = o.up.Stats()
	}
	if o.poll != nil {
		s.Poll = o.poll.Stats()
	}
	if b := o.l.cfg.Budget; b != nil {
		s.BudgetRemaining = int64(b.Stats().Remaining)
	}
	return s
}

// source names the input in messages.
func (o *op) source() string {
	if o.reader != nil && o.reader.Reader != nil {
		if o.reader.Path != "" && o.reader.Path != "-" {
			return o.reader.Path
		}
		return "stdin"
	}
	return o.set.Input
}

// stdinInput reports whether the input is read once, from a reader.
func (o *op) stdinInput() bool { return o.reader != nil && o.reader.Reader != nil }

// finish fills in the report's counts, releases the lock and returns err
// unchanged: the report says what was done whatever stopped it.
func (o *op) finish(err error) (Report, error) {
	defer o.lock.unlock()
	r := &o.rep
	r.ElapsedSeconds = time.Since(o.start).Seconds()
	if o.client != nil {
		r.APICalls = o.client.Calls()
		r.RateLimited = o.client.RateLimited()
	}
	r.Retries += o.retries.Load()
	if o.up != nil {
		s := o.up.Stats()
		r.Retries += s.Retries
		r.Reconciled += s.Reconciliations
		r.Sent = s.Records
	}
	switch {
	case o.up != nil && o.up.Manifest() != nil && o.dir != "":
		r.Duplicates = o.up.Manifest().Upload.Duplicates
	case o.up != nil:
		r.Duplicates = o.up.Stats().Duplicates
	case o.m != nil:
		r.Duplicates = o.m.Upload.Duplicates
	}
	if o.m != nil {
		r.InDoubt = Saved{Manifest: o.m}.InDoubt()
	}
	if o.poll != nil {
		r.Retries += o.poll.Stats().Retries
	}
	if rj := o.stdinRej; rj != nil {
		// The load may have ended between reading standard input's first
		// batch and uploading it: its rejects are still buffered.
		if cerr := rj.close(); cerr != nil && err == nil {
			err = cerr
		}
		if rj.n > 0 {
			r.Files.Rejects = rj.path
		}
		r.Rejected = o.stdin.Stats().Rejects
	}
	if o.jobID == 0 && r.Files.Rejects != "" && !o.dryRun {
		r.Files.Rejects = o.keepRejects(r.Files.Rejects)
	}
	r.Interrupted = errors.Is(err, context.Canceled)
	r.Resumable = o.jobID != 0 && o.dir != ""
	o.setPhase(PhaseDone)
	return *r, err
}

// getJob reads the job, with the op's retry policy.
func (o *op) getJob(ctx context.Context) (api.Job, error) {
	var job api.Job
	err := o.retry().Do(ctx, func(ctx context.Context, _ int) error {
		j, resp, err := o.client.GetJob(ctx, o.jobID)
		job, o.rtt = j, resp.Duration
		return err
	})
	if err == nil {
		o.job = job
		o.rep.State = string(job.State)
		o.rep.JobID = job.ID
	}
	return job, err
}

// save writes the manifest with the op's settings, if the op has a state
// directory.
func (o *op) save() error {
	if o.m == nil || o.dir == "" {
		return nil
	}
	set := o.set
	o.m.Run = &set
	if err := o.m.Save(o.dir); err != nil {
		return fmt.Errorf("saving the manifest: %w", err)
	}
	return nil
}

// createdAt is how a manifest records the job's creation time.
func createdAt(j api.Job) string {
	if j.CreatedAt == nil {
		return ""
	}
	return j.CreatedAt.UTC().Format(time.RFC3339Nano)
}
