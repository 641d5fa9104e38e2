package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/uploader"
)

// retry is the policy of the op's own calls (create, get, ready): the
// Config's (two minutes by default) through faults, but while the server
// has never answered at all (a wrong base URL, no network) a few attempts,
// so a typo costs seconds, not minutes.
func (o *op) retry() budget.RetryPolicy {
	p := o.l.cfg.Retry
	if p.MaxElapsed == 0 && p.MaxAttempts == 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	unanswered := 0
	onRetry := p.OnRetry
	p.OnRetry = func(attempt int, err error, wait time.Duration) {
		o.retries.Add(1)
		o.l.notify(Retry, "%s; retrying in %s (attempt %d)", err, wait.Round(100*time.Millisecond), attempt+1)
		if onRetry != nil {
			onRetry(attempt, err, wait)
		}
	}
	p.Retryable = func(err error) bool {
		if !api.IsRetryable(err) {
			return false
		}
		if NoAnswer(err) && o.client.Answered() == 0 {
			unanswered++
			return unanswered < FirstContactAttempts
		}
		return true
	}
	return p
}

// FirstContactAttempts is how many times the Loader tries a call while the server
// has never answered.
const FirstContactAttempts = 4

// NoAnswer reports whether err is a call that got no HTTP response.
func NoAnswer(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.StatusCode == 0
}

// createJob creates the bulk job. Creating is not idempotent, so a call
// that failed after it was sent is followed by a look for the job it may
// have made (by its unique name) before another is created.
func (o *op) createJob(ctx context.Context, typ, name string) (api.Job, error) {
	if name == "" {
		name = fmt.Sprintf("bulkload %s %s", filepath.Base(o.source()), time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	since := time.Now().Add(-time.Minute)
	var job api.Job
	doubt := false
	err := o.retry().Do(ctx, func(ctx context.Context, attempt int) error {
		if doubt {
			found, err := o.findJob(ctx, typ, name, since)
			if err != nil {
				return err
			}
			if found.ID != 0 {
				job = found // found, not created by this answer: read it again
				return nil
			}
		}
		j, resp, err := o.client.CreateJob(ctx, api.CreateJobRequest{Type: typ, Name: name})
		if err == nil {
			job, o.rtt, o.fresh = j, resp.Duration, true
			return nil
		}
		if api.IsAmbiguous(err) {
			doubt = true
		}
		return err
	})
	if err != nil {
		return api.Job{}, fmt.Errorf("creating the bulk job: %w", err)
	}
	o.jobID = job.ID
	o.job = job
	o.set.JobCreatedAt = createdAt(job)
	o.rep.JobID = job.ID
	o.rep.State = string(job.State)
	o.l.info("Created bulk job %d (%s, %q)", job.ID, job.Type, name)
	return job, nil
}

// findJob looks among the open jobs for one this op created.
func (o *op) findJob(ctx context.Context, typ, name string, since time.Time) (api.Job, error) {
	var after int64
	var found api.Job
	for {
		jobs, _, err := o.client.ListJobs(ctx, api.ListJobsOptions{After: after, PerPage: api.MaxPerPage, States: []api.State{api.StateOpen}})
		if err != nil {
			return api.Job{}, err
		}
		for _, j := range jobs {
			after = j.ID
			if j.Name != nil && *j.Name == name && j.Type == typ && j.CreatedAt != nil && j.CreatedAt.After(since) {
				found = j
			}
		}
		if len(jobs) < api.MaxPerPage {
			return found, nil
		}
	}
}

// markReady marks the job ready to execute. A repeat after an ambiguous
// failure is answered 422 (the job is no longer open), which is success
// when the job is indeed executing or done.
func (o *op) markReady(ctx context.Context) error {
	if o.set.Ready {
		return nil
	}
	o.setPhase(PhaseReady)
	ready := true
	err := o.retry().Do(ctx, func(ctx context.Context, _ int) error {
		job, _, err := o.client.UpdateJob(ctx, o.jobID, api.UpdateJobRequest{ReadyToExecute: &ready})
		if err == nil {
			o.job = job
			o.rep.State = string(job.State)
			return nil
		}
		if api.IsJobNotOpen(err) {
			j, _, gerr := o.client.GetJob(ctx, o.jobID)
			if gerr != nil {
				return gerr
			}
			if j.State != api.StateOpen {
				o.job = j
				o.rep.State = string(j.State)
				return nil
			}
			return budget.Permanent(err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("marking job %d ready: %w", o.jobID, err)
	}
	o.set.Ready = true
	return o.save()
}

// workers is how many uploads to run at once: Config.Workers, or sized to
// the API: enough calls in flight to use the budget's rate given the
// round trip of the job calls (rate × latency, with a margin), at least
// uploader.DefaultWorkers, at most 16.
func (o *op) workers() int {
	if o.set.Workers > 0 {
		return o.set.Workers
	}
	rate := 10.0 // Salesloft's default budget, 600 a minute
	if b := o.l.cfg.Budget; b != nil {
		rate = b.PerSecond()
	}
	return min(max(uploader.DefaultWorkers, int(math.Ceil(rate*o.rtt.Seconds()*1.25))), 16)
}
