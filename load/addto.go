package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/manifest"
)

// UploadOptions are the settings of Upload beyond its Input.
type UploadOptions struct {
	// DryRun reads and checks the whole input and makes no API call.
	DryRun bool
}

// Upload stores the input's records in job id, an open job, exactly once,
// and leaves the job open: upload more inputs, then mark it ready (Ready).
// Each input into a job keeps its own saved state, so an interrupted Upload
// called again with the same input continues where it stopped, exactly
// like Resume; called with the input changed, it refuses with an
// *InputChangedError saying what changed. It refuses a job whose run (Run)
// is unfinished: Resume continues that. The result rows of a job filled by
// uploads name their file and line (see package join), unless an input
// given as a Reader went into it: such an input is read once and keeps no
// index, so no row of the job is tied to a line.
func (l *Loader) Upload(ctx context.Context, id int64, in Input, opts UploadOptions) (Report, error) {
	o, end, err := l.start("upload", id, opts.DryRun)
	if err != nil {
		return Report{}, err
	}
	defer end()
	o.useInput(in)
	return o.finish(o.addTo(ctx))
}

func (o *op) addTo(ctx context.Context) error {
	if o.dryRun {
		return o.checkInput(ctx)
	}
	stateDir, err := o.l.stateDir()
	if err != nil {
		return err
	}
	job, err := o.lockAndGet(ctx, stateDir)
	if err != nil {
		return err
	}
	o.set.Type = job.Type // records are checked against the job's type
	if stateDir == "" || o.stdinInput() {
		if job.State != api.StateOpen {
			return fmt.Errorf("job %d is %s: it takes no more job data", o.jobID, job.State)
		}
		if err := o.checkInput(ctx); err != nil {
			return err
		}
		if stateDir != "" {
			if err := markUnindexed(uploadsIndex(stateDir, o.jobID, createdAt(job)), o.source()); err != nil {
				return err
			}
		}
		return o.upload(ctx)
	}
	if err := o.statInput(); err != nil {
		return err
	}
	desc, err := manifest.InputOf(o.set.Input, o.set.Format)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	if err := o.conflicts(stateDir, desc); err != nil {
		return err
	}
	o.dir = uploadDir(stateDir, o.jobID, desc.Fingerprint)
	if m, err := manifest.Load(o.dir); err == nil {
		if o.sameJob(m, o.dir) != nil {
			if err := o.setAside(o.dir); err != nil { // another job's, with the same id
				return err
			}
		} else {
			o.m = m
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if o.m != nil {
		if o.m.Upload.Complete {
			o.l.info("Job %d already holds every record of %s (%d); nothing to send", o.jobID, o.set.Input, o.m.Upload.AckedRecords)
		} else if err := o.m.Check(desc, o.chunking()); err != nil {
			return fmt.Errorf("cannot continue the upload of %s into job %d (saved in %s): %w", o.set.Input, o.jobID, o.dir, err)
		} else {
			o.l.info("Continuing the upload of %s into job %d: %d records are stored", o.set.Input, o.jobID, o.m.Upload.AckedRecords)
		}
	}
	if job.State != api.StateOpen && (o.m == nil || !o.m.Upload.Complete) {
		return fmt.Errorf("job %d is %s: it takes no more job data", o.jobID, job.State)
	}
	if o.m != nil && o.m.Upload.Complete {
		o.rep.Records, o.rep.Batches = o.m.Upload.AckedRecords, int64(o.m.Upload.Batches)
		o.rep.Bytes, o.rep.Rejected = o.m.Run.Bytes, o.m.Run.Rejected
		return o.upload(ctx) // counts only
	}
	if err := o.checkInput(ctx); err != nil {
		return err
	}
	if o.m == nil {
		o.m = &manifest.Manifest{JobID: o.jobID, JobType: job.Type, Input: desc, Chunking: o.chunking()}
	}
	if err := o.save(); err != nil {
		return err
	}
	if err := o.upload(ctx); err != nil {
		return err
	}
	o.set.Finished = true
	return o.save()
}

// conflicts refuses an upload into a job whose saved state says it would
// store records twice: an unfinished run of the job (Resume continues it),
// or an unfinished upload of this same file that has since changed.
func (o *op) conflicts(stateDir string, desc manifest.Input) error {
	saved, err := SavedLoads(stateDir, o.jobID)
	if err != nil {
		// An unreadable manifest could be the job's unfinished run: adding
		// records beside it could store them twice.
		return fmt.Errorf("%w: it may be an unfinished load of job %d; move it out of %s if it is not, or resume from it; nothing was sent", err, o.jobID, stateDir)
	}
	for _, s := range saved {
		m := s.Manifest
		if m.Run == nil || o.sameJob(m, s.Dir) != nil || m.Upload.Complete {
			continue
		}
		switch {
		case m.Run.Command == "run":
			return &BusyError{JobID: o.jobID, Input: m.Run.Input, Uploaded: m.Upload.AckedRecords}
		case m.Run.Command == "upload" && m.Run.Input == o.set.Input && m.Input.Fingerprint != desc.Fingerprint:
			c := &op{l: o.l, client: o.client, set: *m.Run, jobID: o.jobID, m: m, dir: s.Dir, start: time.Now()}
			c.reader = &Input{Path: c.set.Input}
			return c.changed(desc)
		}
	}
	return nil
}

// BusyError refuses to add records to a job whose run is unfinished: the
// run's own resume continues it (and marks the job ready after it).
type BusyError struct {
	JobID    int64
	Input    string
	Uploaded int64
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("job %d has an unfinished run of %s (%d records stored): resume job %d to continue it; nothing was sent", e.JobID, e.Input, e.Uploaded, e.JobID)
}

// ResultsOptions are the settings of Results.
type ResultsOptions struct {
	// Wait, if positive, bounds how long Results waits for the job to be
	// done; it then returns a *WaitError, its rows so far kept. Zero: no
	// bound.
	Wait time.Duration
}

// Results streams job id's results to the results files, waiting while
// the job executes. An interrupted read, called again with the same
// Config, continues from its saved cursor; a finished one reads everything
// afresh. A job left open (never marked ready) does not execute: Results
// says so (an Info event) and waits, up to opts.Wait.
func (l *Loader) Results(ctx context.Context, id int64, opts ResultsOptions) (Report, error) {
	o, end, err := l.start("results", id, false)
	if err != nil {
		return Report{}, err
	}
	defer end()
	o.reader = &Input{Path: fmt.Sprintf("job %d", id)}
	return o.finish(o.readResults(ctx, opts))
}

func (o *op) readResults(ctx context.Context, opts ResultsOptions) error {
	stateDir, err := o.l.stateDir()
	if err != nil {
		o.l.warn("%v; an interrupted read will start over", err)
		stateDir = ""
	}
	// One look at the job first: a wrong id or base URL fails here, in
	// seconds, before any results file is created.
	job, err := o.lockAndGet(ctx, stateDir)
	if err != nil {
		return err
	}
	o.resultsState(stateDir, job)
	if job.State == api.StateOpen {
		limit := "until it is"
		if opts.Wait > 0 {
			limit = fmt.Sprintf("for %s", opts.Wait)
		}
		o.l.info("Job %d is open: it executes only once marked ready; waiting %s", o.jobID, limit)
	}
	return o.results(ctx, opts.Wait)
}

// lockAndGet takes the job's lock (with a state directory), then reads the
// job and keeps its creation time.
func (o *op) lockAndGet(ctx context.Context, stateDir string) (api.Job, error) {
	if stateDir != "" {
		var err error
		if o.lock, err = lockJob(stateDir, o.jobID, o.rep.Command); err != nil {
			return api.Job{}, err
		}
	}
	job, err := o.getJob(ctx)
	if err == nil {
		o.set.JobCreatedAt = createdAt(job)
	}
	return job, err
}
