package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	command string  // "run", "resume" or "upload"
	input   string  // path, or "-" for stdin
	jobID   int64   // the job: known for resume and upload, created by run
	job     api.Job // the job as last read (get, create or ready)
	// jobCreated is the job's created_at as the server gave it: with the
	// id, it tells this job from another with the same id.
	jobCreated string
	m          *manifest.Manifest
	dir        string // this job's state directory; "" when not resumable

	client *api.Client
	bud    *budget.Budget
	up     *uploader.Uploader
	poll   *poller.Poller

	start   time.Time
	check   chunker.Stats // the input as the check pass read it
	checked bool
	retries int64 // the plan's own calls retried (create, get, ready)

	// Standard input is read once: primeStdin opens it and reads its first
	// batch before the job is created, and upload goes on from there.
	stdin    *chunker.Chunker
	first    *chunker.Batch
	stdinRej *rejectFile
	sum      summary
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

	// A missing key or a bad budget is known before reading a large file.
	if !p.o.dryRun {
		if err := p.connect(); err != nil {
			return err
		}
	}
	// Once the upload is complete the input is no longer needed: a
	// resume only marks the job ready and reads results.
	if p.m == nil || !p.m.Upload.Complete {
		if err := p.checkInput(ctx); err != nil {
			return err
		}
	} else {
		p.sum.Records, p.sum.Batches = p.m.Upload.AckedRecords, int64(p.m.Upload.Batches)
		p.sum.Bytes, _ = strconv.ParseInt(p.extra("bytes"), 10, 64)
		p.sum.Rejected, _ = strconv.ParseInt(p.extra("rejected"), 10, 64)
	}
	if p.o.dryRun {
		return nil
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
		if j := p.job; j.ID == p.jobID && j.State == api.StateDone {
			// A resume of a job that finished meanwhile: its outcome is known.
			p.sum.Succeeded, p.sum.Failed = j.Processed-j.Errors, j.Errors
		}
		what := "is ready and will execute on Salesloft's side"
		if p.sum.State == string(api.StateDone) {
			what = "is done"
		}
		p.a.info("Job %d %s.\nFetch its results with: bulkload results %d\n", p.jobID, what, p.jobID)
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

func (p *plan) connect() error {
	var err error
	if p.bud, err = p.a.newBudget(); err != nil {
		return err
	}
	p.client, err = p.a.newClient(p.bud)
	return err
}

// retry is the policy of the CLI's own calls (create, get, ready): up to
// two minutes through faults, but while the server has never answered at
// all (a wrong base URL, no network) a few attempts, so a typo costs
// seconds, not minutes.
func (p *plan) retry() budget.RetryPolicy {
	unanswered := 0
	onRetry := func(attempt int, err error, wait time.Duration) {
		p.retries++
		p.a.sayRetry(attempt, err, wait)
	}
	return budget.RetryPolicy{MaxElapsed: 2 * time.Minute, OnRetry: onRetry, Retryable: func(err error) bool {
		if !api.IsRetryable(err) {
			return false
		}
		if noAnswer(err) && p.client.Answered() == 0 {
			unanswered++
			return unanswered < firstContactAttempts
		}
		return true
	}}
}

// firstContactAttempts is how many times a call is tried while the server
// has never answered.
const firstContactAttempts = 4

// noAnswer reports whether err is a call that got no HTTP response.
func noAnswer(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.StatusCode == 0
}

// finish fills in the summary, prints it and decides the exit.
func (p *plan) finish(err error) error {
	p.sum.ElapsedSeconds = time.Since(p.start).Seconds()
	if p.client != nil {
		p.sum.APICalls = p.client.Calls()
		p.sum.RateLimited = p.client.RateLimited()
	}
	p.sum.Retries += p.retries
	if p.up != nil {
		s := p.up.Stats()
		p.sum.Retries += s.Retries
		p.sum.Reconciled += s.Reconciliations
	}
	// A manifest counts this run's duplicates and earlier runs'; without
	// one (stdin) there is only this run.
	switch {
	case p.up != nil && p.up.Manifest() != nil:
		p.sum.Duplicates = p.up.Manifest().Upload.Duplicates
	case p.up != nil:
		p.sum.Duplicates = p.up.Stats().Duplicates
	case p.m != nil:
		p.sum.Duplicates = p.m.Upload.Duplicates
	}
	if p.poll != nil {
		p.sum.Retries += p.poll.Stats().Retries
	}
	if r := p.stdinRej; r != nil {
		// The run may have ended between reading standard input's first
		// batch and uploading it: its rejects are still buffered.
		if cerr := r.close(); cerr != nil && err == nil {
			err = cerr
		}
		if r.n > 0 {
			p.sum.Files.Rejects = r.path
		}
		p.sum.Rejected = p.stdin.Stats().Rejects
	}
	if p.jobID == 0 && p.sum.Files.Rejects != "" && !p.o.dryRun {
		// The run ended before a job existed: keep the rejects under a name
		// a person finds, not the check pass's temporary one.
		base := filepath.Base(p.input)
		if p.input == "-" {
			base = "stdin"
		}
		for ext := filepath.Ext(base); ext != ""; ext = filepath.Ext(base) {
			base = strings.TrimSuffix(base, ext)
		}
		kept := filepath.Join(p.o.resultsDir, base+"-rejects.jsonl")
		if os.Rename(p.sum.Files.Rejects, kept) == nil {
			p.sum.Files.Rejects = kept
		}
	}
	interrupted := errors.Is(err, context.Canceled)
	p.sum.Interrupted = interrupted
	if interrupted && p.jobID != 0 && p.dir != "" {
		switch p.command {
		case "upload":
			p.sum.Resume = fmt.Sprintf("bulkload upload --job %d %s", p.jobID, shellQuote(p.input))
		case "results":
			p.sum.Resume = p.resultsCommandLine()
		default:
			p.sum.Resume = fmt.Sprintf("bulkload resume %d", p.jobID)
		}
	}
	if errors.Is(err, uploader.ErrUnresolvable) && p.jobID != 0 && p.dir != "" {
		again := fmt.Sprintf("bulkload resume %d --resend-unresolvable", p.jobID)
		if p.command == "upload" {
			again = fmt.Sprintf("bulkload upload --job %d %s --resend-unresolvable", p.jobID, shellQuote(p.input))
		}
		err = fmt.Errorf("%w (nothing was stored twice; to load the rest anyway, sending these uploads again and so storing the records of them the job already holds a second time: %s)", err, again)
	}
	if err != nil && !interrupted && p.client != nil && p.client.Answered() == 0 && noAnswer(err) {
		err = fmt.Errorf("%w (%s never answered: check --base-url or SALESLOFT_BASE_URL, and the network)", err, p.client.BaseURL())
	}
	if err != nil {
		p.sum.Error = oneLine(err)
	}
	switch {
	case isUsage(err):
		// Nothing ran: the one-line usage error says it all.
	case p.a.g.json:
		p.sum.print(p.a.env.Stdout, true)
	case !p.a.g.quiet:
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
	if abs, err := filepath.Abs(p.o.resultsDir); err == nil {
		p.o.resultsDir = abs
	}
	p.sum.Command = p.command
	p.sum.ErrorsOnly = p.o.errorsOnly
	defer func() { err = p.finish(err) }()
	if err := p.connect(); err != nil {
		return err
	}
	// One look at the job first: a wrong id or base URL fails here, in
	// seconds, before any results file is created.
	job, err := p.getJob(ctx)
	if err != nil {
		return err
	}
	p.jobCreated = createdAt(job)
	if err := p.resultsState(job); err != nil {
		return err
	}
	return p.results(ctx)
}
