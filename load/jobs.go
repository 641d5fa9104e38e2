package load

import (
	"context"
	"slices"

	"github.com/bulkload/bulkload/api"
)

// Status is a job as the API reports it, with this machine's saved loads
// of it.
type Status struct {
	Job api.Job
	// Saved is the job's saved loads in Config.StateDir, the run first.
	// The loads of another job with the same id (another server, or a job
	// created at another time) are not listed.
	Saved []Saved
}

// Status reads job id and lists this machine's saved loads of it: what
// each has stored, what is in doubt, how far its results were read.
func (l *Loader) Status(ctx context.Context, id int64) (Status, error) {
	o, end, err := l.start("status", id, false)
	if err != nil {
		return Status{}, err
	}
	defer end()
	job, err := o.getJob(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{Job: job}
	stateDir, err := l.stateDir()
	if err != nil || stateDir == "" {
		return st, nil
	}
	saved, err := SavedLoads(stateDir, id)
	if err != nil {
		l.warn("%v", err)
	}
	for _, s := range saved {
		r := s.Manifest.Run
		if r == nil || r.JobCreatedAt != "" && job.CreatedAt != nil && r.JobCreatedAt != createdAt(job) {
			continue // another job's, with the same id
		}
		st.Saved = append(st.Saved, s)
	}
	return st, nil
}

// JobsOptions selects the jobs Jobs lists.
type JobsOptions struct {
	// States keeps only the jobs in these states; none: every state.
	States []api.State
	// Newest keeps only the newest N jobs; 0: all.
	Newest int
}

// Jobs lists the team's bulk jobs, newest first. The API lists them oldest
// first by the id[gt] cursor, so every page is read: a call per 100 jobs.
func (l *Loader) Jobs(ctx context.Context, opts JobsOptions) ([]api.Job, error) {
	o, end, err := l.start("jobs", 0, false)
	if err != nil {
		return nil, err
	}
	defer end()
	var all []api.Job
	for after := int64(0); ; {
		var jobs []api.Job
		err := o.retry().Do(ctx, func(ctx context.Context, _ int) error {
			var err error
			jobs, _, err = o.client.ListJobs(ctx, api.ListJobsOptions{After: after, PerPage: api.MaxPerPage, States: opts.States})
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, jobs...)
		if opts.Newest > 0 && len(all) > opts.Newest {
			all = all[len(all)-opts.Newest:]
		}
		if len(jobs) < api.MaxPerPage {
			break
		}
		after = jobs[len(jobs)-1].ID
	}
	slices.Reverse(all)
	return all, nil
}

// InDoubt is the records of the saved load's uploads whose outcome is not
// known (sent, no answer): a resume settles them.
func (s Saved) InDoubt() int64 {
	var n int64
	if !s.Manifest.Upload.Complete {
		for _, b := range s.Manifest.Upload.Sent {
			n += int64(b.Records)
		}
	}
	return n
}
