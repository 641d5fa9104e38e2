package load

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/manifest"
)

// RunOptions are the settings of Run beyond its Input.
type RunOptions struct {
	// Type is the bulk job type, such as "person/upsert". Required unless
	// DryRun.
	Type string
	// Name is the job's name. Default: "bulkload", the input's name and
	// the time, which also lets an ambiguous create find its job.
	Name string
	// NoWait returns once the job is marked ready, reading no results.
	NoWait bool
	// DryRun reads and checks the whole input and makes no API call.
	DryRun bool
	// NewJob starts a new job even when the state directory holds an
	// unfinished run of the same input against the same API, which Run
	// otherwise refuses (with an *UnfinishedError) so that no record is
	// loaded twice by accident.
	NewJob bool
	// AnyType allows a Type not in KnownTypes (see CheckType).
	AnyType bool
	// Continue makes Run, finding such an unfinished run, continue it
	// (exactly as Resume) instead of refusing: a program that calls Run
	// again with the same input after a crash then loads every record
	// once. NewJob takes precedence.
	Continue bool
}

// UnfinishedError is Run's refusal to load an input whose earlier run has
// not finished: Resume continues that run instead.
type UnfinishedError struct {
	JobID    int64
	Input    string
	Uploaded int64 // records of the input the job holds
	Complete bool  // the upload finished; what remains is ready or results
	Dir      string
}

func (e *UnfinishedError) Error() string {
	what := fmt.Sprintf("%d records of it are stored", e.Uploaded)
	if e.Complete {
		what = "its upload is complete, its results are not all read"
	}
	return fmt.Sprintf("%s has an unfinished run in job %d (%s): resume job %d to continue it, or start a new job anyway", e.Input, e.JobID, what, e.JobID)
}

// Run is the whole load: it checks the input, creates a job, uploads every
// record exactly once, marks the job ready and streams the results until
// the job is done. With a StateDir, an interrupted Run is continued by
// Resume with the job's id (Report.JobID).
func (l *Loader) Run(ctx context.Context, in Input, opts RunOptions) (Report, error) {
	o, end, err := l.start("run", 0, opts.DryRun)
	if err != nil {
		return Report{}, err
	}
	defer end()
	o.useInput(in)
	o.set.NoWait = opts.NoWait
	return o.finish(o.run(ctx, opts))
}

func (o *op) run(ctx context.Context, opts RunOptions) error {
	o.set.Type = opts.Type
	if opts.Type != "" && !opts.AnyType {
		if err := CheckType(opts.Type); err != nil {
			return err
		}
	}
	if o.dryRun {
		return o.checkInput(ctx)
	}
	if opts.Type == "" {
		return errors.New("load: RunOptions.Type is required")
	}
	stateDir, err := o.l.stateDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.set.ResultsDir, 0o700); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	// The input is described before the job is created, so that little
	// can fail between creating the job and saving its manifest.
	var desc manifest.Input
	resumable := stateDir != "" && !o.stdinInput()
	if resumable {
		if err := o.statInput(); err != nil {
			return err
		}
		if desc, err = manifest.InputOf(o.set.Input, o.set.Format); err != nil {
			return fmt.Errorf("input: %w", err)
		}
		if !opts.NewJob {
			if s, _ := o.unfinishedRunOf(stateDir, desc); s != nil && opts.Continue {
				o.jobID, o.rep.JobID = s.Manifest.JobID, s.Manifest.JobID
				o.l.info("Continuing job %d's unfinished run of %s", o.jobID, o.set.Input)
				return o.resume(ctx, ResumeOptions{NoWait: opts.NoWait})
			} else if s != nil {
				return &UnfinishedError{JobID: s.Manifest.JobID, Input: o.set.Input, Uploaded: s.Manifest.Upload.AckedRecords,
					Complete: s.Manifest.Upload.Complete, Dir: s.Dir}
			}
		}
	}
	if err := o.checkInput(ctx); err != nil {
		return err
	}
	if o.checked {
		o.l.notify(Checked, "%s: %d valid records in %d batches", o.source(), o.check.Records, o.check.Batches)
	}
	o.setPhase(PhaseCreate)
	if _, err := o.createJob(ctx, opts.Type, opts.Name); err != nil {
		return err
	}
	o.claimRejects()
	if stateDir != "" {
		if o.lock, err = lockJob(stateDir, o.jobID, "run"); err != nil {
			return err
		}
	}
	if resumable {
		o.dir = runDir(stateDir, o.jobID)
		// Whatever is saved here is of another job with the same id: a
		// job this run just created has no earlier run.
		if err := o.setAside(o.dir); err != nil {
			return err
		}
		o.m = &manifest.Manifest{JobID: o.jobID, JobType: opts.Type, Input: desc, Chunking: o.chunking()}
		if err := o.save(); err != nil {
			return err
		}
	}
	return o.rest(ctx)
}

// rest is a run from the upload on: upload, mark ready, results.
func (o *op) rest(ctx context.Context) error {
	if err := o.upload(ctx); err != nil {
		return err
	}
	if err := o.markReady(ctx); err != nil {
		return err
	}
	if o.set.NoWait {
		if j := o.job; j.ID == o.jobID && j.State == api.StateDone {
			// A resume of a job that finished meanwhile: its outcome is known.
			o.rep.Succeeded, o.rep.Failed = j.Processed-j.Errors, j.Errors
		}
		o.set.Finished = true
		return o.save()
	}
	return o.results(ctx, 0)
}

// useInput takes the input's settings into the op.
func (o *op) useInput(in Input) {
	o.reader = &in
	if in.Reader == nil {
		o.set.Input = abs(in.Path)
	}
	o.rep.Input = in.Path
	if in.Reader != nil && (in.Path == "" || in.Path == "-") {
		o.rep.Input = "-"
	}
	o.set.Format, o.set.BatchSize, o.set.MaxRejects = in.Format, in.BatchSize, in.MaxRejects
	if o.set.BatchSize == 0 {
		o.set.BatchSize = 5000
	}
	if in.Delimiter != 0 {
		o.set.Delimiter = string(in.Delimiter)
	}
	o.set.Encoding, o.set.UpsertKey, o.set.LinesOf = in.Encoding, in.UpsertKey, in.linesOf
	if in.resultsDir != "" {
		o.set.ResultsDir = in.resultsDir
	}
	if in.resultsFormat != "" {
		o.set.ResultsFormat = in.resultsFormat
	}
	for _, e := range in.Map {
		o.set.Map = append(o.set.Map, manifest.MapEntry(e))
	}
}

// Create creates a bulk job of type typ and returns it. A create whose
// answer is lost is followed by a look for the job it made (by name), so
// one call makes at most one job; name "" picks a unique one.
func (l *Loader) Create(ctx context.Context, typ, name string) (api.Job, error) {
	o, end, err := l.start("create", 0, false)
	if err != nil {
		return api.Job{}, err
	}
	defer end()
	o.reader = &Input{Path: "create"}
	return o.createJob(ctx, typ, name)
}

// Ready marks job id ready to execute. A repeat after an ambiguous answer
// (the PUT was applied, its answer lost) is recognised: the job is then
// executing or done, which is success. It holds the job's lock, so a job
// is never marked ready while this machine uploads into it.
func (l *Loader) Ready(ctx context.Context, id int64) (api.Job, error) {
	o, end, err := l.start("ready", id, false)
	if err != nil {
		return api.Job{}, err
	}
	defer end()
	stateDir, err := l.stateDir()
	if err != nil {
		return api.Job{}, err
	}
	if stateDir != "" {
		if o.lock, err = lockJob(stateDir, id, "ready"); err != nil {
			return api.Job{}, err
		}
		defer o.lock.unlock()
	}
	if err := o.markReady(ctx); err != nil {
		return api.Job{}, err
	}
	if o.job.ID == 0 {
		return o.getJob(ctx)
	}
	return o.job, nil
}

// errNoState is the error of operations that need a StateDir.
var errNoState = errors.New("load: Config.StateDir is not set: nothing was saved to continue from")

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
