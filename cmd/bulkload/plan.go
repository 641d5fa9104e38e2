package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/manifest"
	"github.com/bulkload/bulkload/poller"
	"github.com/bulkload/bulkload/uploader"
)

// plan is one run of the pipeline: check the input, create or reuse a job,
// upload, mark it ready, stream its results. run, resume and upload are
// plans that start or stop at different phases.
type plan struct {
	a       *app
	o       runOpts
	command string // "run", "resume" or "upload"
	input   string // path, or "-" for stdin
	jobID   int64  // the job: known for resume and upload, created by run
	m       *manifest.Manifest
	dir     string // this job's state directory; "" when not resumable

	client *api.Client
	bud    *budget.Budget
	up     *uploader.Uploader
	poll   *poller.Poller

	start   time.Time
	check   chunker.Stats // the input as the check pass read it
	checked bool
	sum     summary
}

// execute runs the plan to its end, prints the summary and returns the
// error that decides the exit code.
func (p *plan) execute(ctx context.Context) (err error) {
	p.start = time.Now()
	p.sum.Command = p.command
	p.sum.Input = p.input
	// The manifest keeps absolute paths, so resume works from any directory.
	if p.input != "-" {
		if abs, err := filepath.Abs(p.input); err == nil {
			p.input = abs
		}
	}
	if abs, err := filepath.Abs(p.o.resultsDir); err == nil {
		p.o.resultsDir = abs
	}
	p.sum.DryRun = p.o.dryRun
	p.sum.ErrorsOnly = p.o.errorsOnly
	defer func() { err = p.finish(err) }()

	// Once the upload is complete the input is no longer needed: a
	// resume only marks the job ready and reads results.
	if p.m == nil || !p.m.Upload.Complete {
		if err := p.checkInput(ctx); err != nil {
			return err
		}
	}
	if p.o.dryRun {
		return nil
	}
	if err := p.connect(); err != nil {
		return err
	}
	if err := p.prepareJob(ctx); err != nil {
		return err
	}
	if err := p.upload(ctx); err != nil {
		return err
	}
	if p.command == "upload" {
		return nil
	}
	if err := p.markReady(ctx); err != nil {
		return err
	}
	if p.o.noWait {
		fmt.Fprintf(p.a.env.Stderr, "Job %d is ready and will execute on Salesloft's side.\nFetch its results later with: bulkload results %d\n", p.jobID, p.jobID)
		return nil
	}
	return p.results(ctx)
}

// chunkConfig is the chunker's configuration for this plan; the manifest's
// Chunking records the part that decides the batches.
func (p *plan) chunkConfig() (chunker.Config, error) {
	cfg := chunker.Config{
		Source:     p.input,
		MaxRecords: p.o.batchSize,
		MaxRejects: p.o.maxRejects,
	}
	if p.input == "-" {
		cfg.Source = "stdin"
	}
	if p.o.format != "" {
		f, err := chunker.ParseFormat(p.o.format)
		if err != nil {
			return cfg, usageError{err}
		}
		cfg.Format = f
	}
	return cfg, nil
}

func (p *plan) chunking() manifest.Chunking {
	return manifest.Chunking{
		MaxRecords:    p.o.batchSize,
		MaxBatchBytes: chunker.DefaultMaxBatchBytes,
		Options:       map[string]string{"format": p.o.format, "max_rejects": strconv.Itoa(p.o.maxRejects)},
	}
}

// checkInput reads the whole input once before any API call: it proves
// every record valid (or counts the rejects) so that a bad file fails
// before a job exists, and it gives the totals progress and ETA need.
// Standard input can be read only once, so it is checked while uploading.
func (p *plan) checkInput(ctx context.Context) error {
	if p.input == "-" {
		if p.o.dryRun {
			return p.scan(ctx, p.a.env.Stdin, true)
		}
		return nil
	}
	st, err := os.Stat(p.input)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("input %s is a directory, not a file", p.input)
	}
	return p.scan(ctx, nil, true)
}

// scan chunks the whole input, counting, and writes the rejects file.
func (p *plan) scan(ctx context.Context, r io.Reader, writeRejects bool) error {
	cfg, err := p.chunkConfig()
	if err != nil {
		return err
	}
	rej := &rejectFile{path: p.rejectsPath()}
	if writeRejects {
		cfg.OnReject = rej.add
	}
	var c *chunker.Chunker
	if r != nil {
		c, err = chunker.New(r, cfg)
	} else {
		c, err = chunker.Open(p.input, cfg)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	prog := startProgress(p.a.env.Stderr, p.a.progressOn(), func() string {
		s := c.Stats()
		el := time.Since(p.start)
		return fmt.Sprintf("checking %s: %d records, %d rejected, %s read, %s/s", cfg.Source, s.Records, s.Rejects,
			humanBytes(s.Bytes), humanBytes(int64(float64(s.Bytes)/max(el.Seconds(), 1e-3))))
	})
	for {
		if err = ctx.Err(); err != nil {
			break
		}
		var b chunker.Batch
		b, err = c.Next()
		if err != nil {
			break
		}
		p.sum.Bytes += int64(len(b.Body))
	}
	prog.stop()
	if cerr := rej.close(); cerr != nil && (err == nil || err == io.EOF) {
		err = cerr
	}
	p.check = c.Stats()
	p.checked = true
	p.sum.Records, p.sum.Batches, p.sum.Rejected = p.check.Records, p.check.Batches, p.check.Rejects
	if rej.n > 0 {
		p.sum.Files.Rejects = rej.path
	}
	if err == io.EOF {
		return nil
	}
	return err
}

// rejectsPath names the rejects file: <job id>-rejects.jsonl once the job
// is known. The check pass runs before the job exists, so a new run writes
// a temporary name and renames it when the job is created.
func (p *plan) rejectsPath() string {
	switch {
	case p.jobID != 0:
		return filepath.Join(p.o.resultsDir, fmt.Sprintf("%d-rejects.jsonl", p.jobID))
	case p.o.dryRun:
		return filepath.Join(p.o.resultsDir, "dry-run-rejects.jsonl")
	}
	return filepath.Join(p.o.resultsDir, fmt.Sprintf(".bulkload-rejects-%d.jsonl", os.Getpid()))
}

func (p *plan) connect() error {
	var err error
	if p.bud, err = p.a.newBudget(); err != nil {
		return err
	}
	p.client, err = p.a.newClient(p.bud)
	return err
}

// retry is the policy of the CLI's own calls (create, ready).
func (p *plan) retry() budget.RetryPolicy { return budget.RetryPolicy{} }

// prepareJob creates the job (run) or checks the one given (resume,
// upload), and loads or starts its manifest.
func (p *plan) prepareJob(ctx context.Context) error {
	if p.jobID == 0 {
		if err := p.createJob(ctx); err != nil {
			return err
		}
	} else if p.m == nil || !p.m.Upload.Complete {
		job, err := p.getJob(ctx)
		if err != nil {
			return err
		}
		if job.State != api.StateOpen && (p.m == nil || !p.m.Upload.Complete) && p.extra("ready") != "true" {
			return fmt.Errorf("job %d is %s: it takes no more job data", p.jobID, job.State)
		}
	}
	if p.input == "-" {
		return nil // nothing to resume from
	}
	if p.dir == "" {
		stateDir, err := p.a.stateDir()
		if err != nil {
			return err
		}
		p.dir = filepath.Join(stateDir, strconv.FormatInt(p.jobID, 10))
	}
	if p.m != nil && p.m.Upload.Complete {
		p.saveOpts()
		return p.m.Save(p.dir)
	}
	in, err := manifest.InputOf(p.input, p.o.format)
	if err != nil {
		return err
	}
	if p.command == "upload" && p.m == nil {
		// A job may take several files: each upload keeps its own state,
		// and running the same upload again continues (or skips) it.
		p.dir = filepath.Join(filepath.Dir(p.dir), fmt.Sprintf("%d-upload-%.12s", p.jobID, in.Fingerprint))
	}
	if p.m == nil {
		if m, err := manifest.Load(p.dir); err == nil {
			p.m = m // upload into a job an earlier run started
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if p.m != nil {
		if err := p.m.Check(in, p.chunking()); err != nil {
			return fmt.Errorf("cannot resume job %d from %s: %w", p.jobID, p.dir, err)
		}
	} else {
		p.m = &manifest.Manifest{JobID: p.jobID, JobType: p.o.jobType, Input: in, Chunking: p.chunking()}
	}
	p.saveOpts()
	if err := p.m.Save(p.dir); err != nil {
		return fmt.Errorf("saving the manifest: %w", err)
	}
	return nil
}

// createJob creates the bulk job. Creating is not idempotent, so a call
// that failed after it was sent is followed by a look for the job it may
// have made (by its unique name) before another is created.
func (p *plan) createJob(ctx context.Context) error {
	name := p.o.name
	if name == "" {
		name = fmt.Sprintf("bulkload %s %s", filepath.Base(p.input), time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	since := time.Now().Add(-time.Minute)
	var job api.Job
	doubt := false
	err := p.retry().Do(ctx, func(ctx context.Context, attempt int) error {
		if doubt {
			found, err := p.findJob(ctx, name, since)
			if err != nil {
				return err
			}
			if found.ID != 0 {
				job = found
				return nil
			}
		}
		j, _, err := p.client.CreateJob(ctx, api.CreateJobRequest{Type: p.o.jobType, Name: name})
		if err == nil {
			job = j
			return nil
		}
		if api.IsAmbiguous(err) {
			doubt = true
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("creating the bulk job: %w", err)
	}
	p.jobID = job.ID
	p.sum.JobID = job.ID
	p.sum.State = string(job.State)
	// The check pass wrote rejects under a temporary name.
	if p.sum.Files.Rejects != "" {
		final := p.rejectsPath()
		if err := os.Rename(p.sum.Files.Rejects, final); err != nil {
			return fmt.Errorf("rejects file: %w", err)
		}
		p.sum.Files.Rejects = final
	}
	fmt.Fprintf(p.a.env.Stderr, "Created bulk job %d (%s, %q)\n", job.ID, job.Type, name)
	return nil
}

// findJob looks among the open jobs for one this run created.
func (p *plan) findJob(ctx context.Context, name string, since time.Time) (api.Job, error) {
	var after int64
	var found api.Job
	for {
		jobs, _, err := p.client.ListJobs(ctx, api.ListJobsOptions{After: after, PerPage: api.MaxPerPage, States: []api.State{api.StateOpen}})
		if err != nil {
			return api.Job{}, err
		}
		for _, j := range jobs {
			after = j.ID
			if j.Name != nil && *j.Name == name && j.Type == p.o.jobType && j.CreatedAt != nil && j.CreatedAt.After(since) {
				found = j
			}
		}
		if len(jobs) < api.MaxPerPage {
			return found, nil
		}
	}
}

func (p *plan) getJob(ctx context.Context) (api.Job, error) {
	var job api.Job
	err := p.retry().Do(ctx, func(ctx context.Context, _ int) error {
		var err error
		job, _, err = p.client.GetJob(ctx, p.jobID)
		return err
	})
	if err == nil {
		p.sum.State = string(job.State)
		p.sum.JobID = job.ID
	}
	return job, err
}

// saveOpts keeps in the manifest what resume needs to continue alike.
func (p *plan) saveOpts() {
	if p.m.Extra == nil {
		p.m.Extra = map[string]string{}
	}
	x := p.m.Extra
	if x["command"] == "" {
		x["command"] = p.command
	}
	x["results_dir"] = p.o.resultsDir
	x["results_format"] = p.o.resultsFormat
	x["errors_only"] = strconv.FormatBool(p.o.errorsOnly)
	x["workers"] = strconv.Itoa(p.o.workers)
	x["input"] = p.input
	x["batch_size"] = strconv.Itoa(p.o.batchSize)
	x["format"] = p.o.format
	x["max_rejects"] = strconv.Itoa(p.o.maxRejects)
}

func (p *plan) extra(k string) string {
	if p.m == nil {
		return ""
	}
	return p.m.Extra[k]
}

func (p *plan) setExtra(k, v string) error {
	if p.m == nil {
		return nil
	}
	p.m.Extra[k] = v
	if p.dir == "" {
		return nil
	}
	if err := p.m.Save(p.dir); err != nil {
		return fmt.Errorf("saving the manifest: %w", err)
	}
	return nil
}

// upload stores every batch of the input in the job, exactly once.
func (p *plan) upload(ctx context.Context) error {
	if p.m != nil && p.m.Upload.Complete {
		p.sum.Uploaded = p.m.Upload.AckedRecords
		return nil
	}
	cfg, err := p.chunkConfig()
	if err != nil {
		return err
	}
	var rej *rejectFile
	var c *chunker.Chunker
	if p.input == "-" {
		rej = &rejectFile{path: p.rejectsPath()}
		cfg.OnReject = rej.add
		c, err = chunker.New(p.a.env.Stdin, cfg)
	} else {
		c, err = chunker.Open(p.input, cfg) // rejects were written by the check pass
	}
	if err != nil {
		return err
	}
	defer c.Close()
	p.up, err = uploader.New(uploader.Config{
		Client:   p.client,
		Workers:  p.o.workers,
		Manifest: p.m,
		StateDir: p.dir,
		Logger:   p.a.logger(),
	})
	if err != nil {
		return usageError{err}
	}
	prog := startProgress(p.a.env.Stderr, p.a.progressOn(), p.uploadLine)
	_, err = p.up.Upload(ctx, p.jobID, c)
	prog.stop()
	if rej != nil {
		if cerr := rej.close(); cerr != nil && err == nil {
			err = cerr
		}
		p.sum.Rejected = c.Stats().Rejects
		if rej.n > 0 {
			p.sum.Files.Rejects = rej.path
		}
	}
	if !p.checked {
		s := c.Stats()
		p.sum.Records, p.sum.Batches = s.Records, s.Batches
	}
	if m := p.up.Manifest(); m != nil && p.m != nil {
		p.m = m
	}
	if p.m != nil {
		p.sum.Uploaded = p.m.Upload.AckedRecords
	} else {
		st := p.up.Stats()
		p.sum.Uploaded = st.Records + st.SkippedRecords
	}
	if err != nil {
		return fmt.Errorf("uploading %s into job %d: %w", p.input, p.jobID, err)
	}
	return nil
}

func (p *plan) uploadLine() string {
	s := p.up.Stats()
	el := time.Since(p.start)
	done := s.Records + s.SkippedRecords
	line := fmt.Sprintf("uploading: %d", done)
	if p.checked && p.check.Records > 0 {
		line += fmt.Sprintf("/%d records (%d%%)", p.check.Records, done*100/p.check.Records)
	} else {
		line += " records"
	}
	line += fmt.Sprintf(" · %d batches · %s · %s", s.Batches+s.Skipped, humanBytes(s.Bytes), rate(s.Records, el))
	if p.checked {
		line += " · ETA " + eta(done, p.check.Records, el)
	}
	if b := p.bud.Stats(); b.Remaining >= 0 {
		line += fmt.Sprintf(" · budget %d left", b.Remaining)
	}
	return line
}

// markReady marks the job ready to execute. A repeat after an ambiguous
// failure is answered 422 (the job is no longer open), which is success
// when the job is indeed executing or done.
func (p *plan) markReady(ctx context.Context) error {
	if p.extra("ready") == "true" {
		return nil
	}
	ready := true
	err := p.retry().Do(ctx, func(ctx context.Context, _ int) error {
		job, _, err := p.client.UpdateJob(ctx, p.jobID, api.UpdateJobRequest{ReadyToExecute: &ready})
		if err == nil {
			p.sum.State = string(job.State)
			return nil
		}
		if api.IsJobNotOpen(err) {
			j, _, gerr := p.client.GetJob(ctx, p.jobID)
			if gerr != nil {
				return gerr
			}
			if j.State != api.StateOpen {
				p.sum.State = string(j.State)
				return nil
			}
			return budget.Permanent(err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("marking job %d ready: %w", p.jobID, err)
	}
	return p.setExtra("ready", "true")
}

// results streams the job's results into the results files until the job
// is done, saving the cursor with the files' offsets as it goes.
func (p *plan) results(ctx context.Context) error {
	ext := "jsonl"
	ff := poller.JSONLines
	if p.o.resultsFormat == "csv" {
		ext, ff = "csv", poller.CSV
	}
	fc := poller.FilesConfig{Format: ff, Errors: filepath.Join(p.o.resultsDir, fmt.Sprintf("%d-errors.%s", p.jobID, ext))}
	if !p.o.errorsOnly {
		fc.Success = filepath.Join(p.o.resultsDir, fmt.Sprintf("%d-success.%s", p.jobID, ext))
	}
	var start int64
	if p.m != nil && p.m.Poll.Cursor > 0 && p.extra("success_offset") != "" {
		so, _ := strconv.ParseInt(p.extra("success_offset"), 10, 64)
		eo, _ := strconv.ParseInt(p.extra("errors_offset"), 10, 64)
		fc.Resume = &poller.Offsets{Success: so, Errors: eo}
		start = p.m.Poll.Cursor
	}
	files, err := poller.CreateFiles(fc)
	if err != nil {
		return err
	}
	p.sum.Files.Success, p.sum.Files.Errors = fc.Success, fc.Errors
	var saveErr error
	p.poll, err = poller.New(p.client, poller.Config{
		ErrorsOnly: p.o.errorsOnly,
		StartAfter: start,
		Logger:     p.a.logger(),
		Progress: func(s poller.Stats) {
			if p.m == nil || p.dir == "" || saveErr != nil || s.Cursor == p.m.Poll.Cursor {
				return
			}
			if saveErr = files.Sync(); saveErr != nil {
				return
			}
			off := files.Offsets()
			p.m.Poll.Cursor = s.Cursor
			p.m.Extra["success_offset"] = strconv.FormatInt(off.Success, 10)
			p.m.Extra["errors_offset"] = strconv.FormatInt(off.Errors, 10)
			if err := p.m.Save(p.dir); err != nil {
				saveErr = fmt.Errorf("saving the manifest: %w", err)
			}
		},
	})
	if err != nil {
		files.Close()
		return usageError{err}
	}
	prog := startProgress(p.a.env.Stderr, p.a.progressOn(), p.pollLine)
	st, err := p.poll.Run(ctx, p.jobID, func(r api.Result) error {
		if saveErr != nil {
			return saveErr
		}
		return files.Write(r)
	})
	prog.stop()
	if cerr := files.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil && saveErr != nil {
		err = saveErr
	}
	p.sum.State = string(st.State)
	if p.o.errorsOnly {
		p.sum.Failed = st.DeliveredErrors
		p.sum.Succeeded = st.Processed - st.Errors
	} else {
		p.sum.Succeeded = st.Delivered - st.DeliveredErrors
		p.sum.Failed = st.DeliveredErrors
	}
	if err != nil {
		return fmt.Errorf("reading the results of job %d: %w", p.jobID, err)
	}
	if p.m != nil && p.dir != "" {
		p.m.Poll.Done = true
		p.m.Poll.Cursor = st.Cursor
		if err := p.m.Save(p.dir); err != nil {
			return fmt.Errorf("saving the manifest: %w", err)
		}
	}
	return nil
}

func (p *plan) pollLine() string {
	s := p.poll.Stats()
	line := fmt.Sprintf("executing: %d/%d processed · %d errors", s.Processed, s.Total, s.Errors)
	if s.Rate > 0 {
		line += fmt.Sprintf(" · %.0f/s", s.Rate)
	}
	line += fmt.Sprintf(" · %d results saved · %s", s.Delivered, s.State)
	if b := p.bud.Stats(); b.Remaining >= 0 {
		line += fmt.Sprintf(" · budget %d left", b.Remaining)
	}
	return line
}

// finish fills in the summary, prints it and decides the exit.
func (p *plan) finish(err error) error {
	p.sum.ElapsedSeconds = time.Since(p.start).Seconds()
	if p.client != nil {
		p.sum.APICalls = p.client.Calls()
		p.sum.RateLimited = p.client.RateLimited()
	}
	if p.up != nil {
		s := p.up.Stats()
		p.sum.Retries += s.Retries
		p.sum.Reconciled += s.Reconciliations
	}
	if p.poll != nil {
		p.sum.Retries += p.poll.Stats().Retries
	}
	interrupted := errors.Is(err, context.Canceled)
	if interrupted && p.jobID != 0 && p.dir != "" {
		p.sum.Interrupted = true
		p.sum.Resume = fmt.Sprintf("bulkload resume %d", p.jobID)
		if p.command == "upload" {
			p.sum.Resume = fmt.Sprintf("bulkload upload --job %d %s", p.jobID, p.input)
		}
	}
	if err != nil {
		p.sum.Error = oneLine(err)
	}
	if p.a.g.json {
		p.sum.print(p.a.env.Stdout, true)
	} else if !p.a.g.quiet {
		p.sum.print(p.a.env.Stderr, false)
	}
	switch {
	case interrupted:
		if p.sum.Resume != "" {
			return exitError{exitInterrupted, fmt.Errorf("interrupted; continue with: %s", p.sum.Resume)}
		}
		return exitError{exitInterrupted, errors.New("interrupted")}
	case err != nil:
		return err
	case p.sum.Failed > 0 || p.sum.Rejected > 0:
		return exitError{code: exitPartial}
	}
	return nil
}

// executeResults is the results command: the last phase alone.
func (p *plan) executeResults(ctx context.Context) (err error) {
	p.start = time.Now()
	p.sum.Command = p.command
	p.sum.ErrorsOnly = p.o.errorsOnly
	defer func() { err = p.finish(err) }()
	if err := p.connect(); err != nil {
		return err
	}
	return p.results(ctx)
}
