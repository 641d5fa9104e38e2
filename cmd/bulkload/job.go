package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/manifest"
)

// prepareJob creates the job (run) or checks the one given (resume,
// upload), and loads or starts its manifest.
func (p *plan) prepareJob(ctx context.Context) error {
	// The state directory is made before the job, so that an unusable one
	// fails the run without leaving an empty job behind.
	var stateDir string
	if p.input != "-" && p.dir == "" {
		var err error
		if stateDir, err = p.a.stateDir(); err != nil {
			return err
		}
	}
	// The input is described before the job is created, so that little
	// can fail between creating the job and saving its manifest (only
	// writing the state directory).
	var in manifest.Input
	if p.input != "-" && (p.m == nil || !p.m.Upload.Complete) {
		var err error
		if in, err = manifest.InputOf(p.input, p.o.format); err != nil {
			return err
		}
	}
	fresh := p.jobID == 0
	if fresh {
		if err := p.createJob(ctx); err != nil {
			return err
		}
	} else {
		// Read even when the upload is complete: the job's creation time
		// proves that a saved run is of this job and not of another with
		// the same id (another server, or an emulator since restarted).
		job, err := p.getJob(ctx)
		if err != nil {
			return err
		}
		p.jobCreated = createdAt(job)
		if job.State != api.StateOpen && (p.m == nil || !p.m.Upload.Complete) && p.extra("ready") != "true" {
			return fmt.Errorf("job %d is %s: it takes no more job data", p.jobID, job.State)
		}
		if err := p.sameJob(p.dir); err != nil {
			return err // resume: refuse to continue another job's run
		}
	}
	if p.input == "-" {
		return nil // nothing to resume from
	}
	if p.dir == "" {
		p.dir = filepath.Join(stateDir, strconv.FormatInt(p.jobID, 10))
	}
	if p.m != nil && p.m.Upload.Complete {
		p.saveOpts()
		return p.m.Save(p.dir)
	}
	if p.command == "upload" && p.m == nil {
		// A job may take several files: each upload keeps its own state,
		// and running the same upload again continues (or skips) it.
		p.dir = filepath.Join(filepath.Dir(p.dir), fmt.Sprintf("%d-upload-%.12s", p.jobID, in.Fingerprint))
	}
	if p.m == nil && !fresh {
		if m, err := manifest.Load(p.dir); err == nil {
			p.m = m // upload into a job an earlier run started
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if p.sameJob(p.dir) != nil {
			p.m = nil // another job's: set aside below, start afresh
		}
	}
	if p.m == nil {
		// Whatever is saved here is of another job with the same id: a
		// job this run just created has no earlier run.
		if err := p.setAside(p.dir); err != nil {
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

// createdAt is how a manifest records the job's creation time.
func createdAt(j api.Job) string {
	if j.CreatedAt == nil {
		return ""
	}
	return j.CreatedAt.UTC().Format(time.RFC3339Nano)
}

// sameJob refuses a saved run that is of another job than the server's
// job with its id: job ids repeat across servers, and an emulator starts
// again from 1. Manifests from before creation times were kept pass.
func (p *plan) sameJob(dir string) error {
	saved := p.extra("job_created_at")
	if saved == "" || p.jobCreated == "" || saved == p.jobCreated {
		return nil
	}
	return fmt.Errorf("the saved run in %s is of another job %d, created %s; the server's job %d was created %s (another server, or an emulator since restarted): it cannot be continued",
		dir, p.jobID, saved, p.jobID, p.jobCreated)
}

// setAside renames a state directory that belongs to another job with the
// same id, keeping it for a person to look at, and says so.
func (p *plan) setAside(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	aside := fmt.Sprintf("%s.replaced-%s", dir, time.Now().UTC().Format("20060102T150405.000"))
	if err := os.Rename(dir, aside); err != nil {
		return fmt.Errorf("state directory %s holds another job's run and cannot be moved aside: %w", dir, err)
	}
	fmt.Fprintf(p.a.env.Stderr, "bulkload: warning: %s held the saved run of another job %d (another server, or an emulator since restarted); moved it to %s\n",
		dir, p.jobID, aside)
	return nil
}

// createJob creates the bulk job. Creating is not idempotent, so a call
// that failed after it was sent is followed by a look for the job it may
// have made (by its unique name) before another is created.
func (p *plan) createJob(ctx context.Context) error {
	name := p.o.name
	if name == "" {
		in := filepath.Base(p.input)
		if p.input == "-" {
			in = "stdin"
		}
		name = fmt.Sprintf("bulkload %s %s", in, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
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
	p.jobCreated = createdAt(job)
	p.sum.JobID = job.ID
	p.sum.State = string(job.State)
	// The job exists now and its manifest is not saved yet: failing here
	// would leave a job no resume can find, so a failed rename of a
	// rejects file only keeps its old name.
	if r := p.stdinRej; r != nil {
		// Standard input's rejects file is still being written: rename it
		// open (or, if it has none yet, name the file it will create).
		final := p.rejectsPath()
		if r.f == nil {
			r.path = final
		} else if err := os.Rename(r.path, final); err != nil {
			fmt.Fprintf(p.a.env.Stderr, "bulkload: warning: rejects stay in %s: %v\n", r.path, err)
		} else {
			r.path = final
		}
	}
	// The check pass wrote a file's rejects under a temporary name.
	if p.sum.Files.Rejects != "" {
		final := p.rejectsPath()
		if err := os.Rename(p.sum.Files.Rejects, final); err != nil {
			fmt.Fprintf(p.a.env.Stderr, "bulkload: warning: rejects stay in %s: %v\n", p.sum.Files.Rejects, err)
		} else {
			p.sum.Files.Rejects = final
		}
	}
	p.a.info("Created bulk job %d (%s, %q)\n", job.ID, job.Type, name)
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
		p.job = job
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
	if p.checked {
		// What the check pass found, for the summary of a resume that
		// no longer reads the input.
		x["bytes"] = strconv.FormatInt(p.sum.Bytes, 10)
		x["rejected"] = strconv.FormatInt(p.sum.Rejected, 10)
	}
	if x["job_created_at"] == "" && p.jobCreated != "" {
		x["job_created_at"] = p.jobCreated
	}
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
			p.job = job
			p.sum.State = string(job.State)
			return nil
		}
		if api.IsJobNotOpen(err) {
			j, _, gerr := p.client.GetJob(ctx, p.jobID)
			if gerr != nil {
				return gerr
			}
			if j.State != api.StateOpen {
				p.job = j
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
