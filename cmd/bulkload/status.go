package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/load"
	"github.com/spf13/cobra"
)

func (a *app) statusCommand() *cobra.Command {
	var last bool
	cmd := &cobra.Command{
		Use:   "status [JOB_ID | --last]",
		Short: "Show a bulk job's state and counts, and this machine's saved loads of it",
		Long: `status shows a job as Salesloft reports it (state, records total, processed
and failed, its times) and, below, what this machine saved of its loads: the
records stored, those in doubt (sent without an answer: a resume settles
them), how far the results were read, and the command that continues each.`,
		Example: `  bulkload status 211
  bulkload status --last
  bulkload status 211 --json | jq .state`,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := a.jobArg(args, last)
			if err != nil {
				return err
			}
			c, err := a.newClient(nil)
			if err != nil {
				return err
			}
			var job api.Job
			err = a.quickRetry().Do(cmd.Context(), func(ctx context.Context, _ int) error {
				job, _, err = c.GetJob(ctx, id)
				return err
			})
			if err != nil {
				return err
			}
			if a.g.json {
				return json.NewEncoder(a.env.Stdout).Encode(job)
			}
			printJob(a.env.Stdout, job, a.savedRun(job))
			return nil
		},
	}
	cmd.Flags().BoolVar(&last, "last", false, "the job of the most recently saved load on this machine")
	return cmd
}

// jobArg is the JOB_ID argument, or with --last the job of the most
// recently saved load.
func (a *app) jobArg(args []string, last bool) (int64, error) {
	switch {
	case last && len(args) == 0:
		dir, err := a.stateDirPath()
		if err != nil {
			return 0, err
		}
		return load.LastJob(dir)
	case !last && len(args) == 1:
		return parseJobID(args[0])
	}
	return 0, usagef("give a JOB_ID or --last")
}

// savedRun describes this machine's saved loads of the job, if any: what
// each has done and how to continue it, as rows for printJob.
func (a *app) savedRun(job api.Job) [][2]string {
	stateDir, err := a.stateDirPath()
	if err != nil {
		return nil
	}
	saved, _ := load.SavedLoads(stateDir, job.ID)
	var rows [][2]string
	for _, s := range saved {
		m, r := s.Manifest, s.Manifest.Run
		if r == nil || r.JobCreatedAt != "" && job.CreatedAt != nil && r.JobCreatedAt != job.CreatedAt.UTC().Format(time.RFC3339Nano) {
			continue // another job's, with the same id
		}
		u := m.Upload
		what := "saved " + r.Command
		switch {
		case r.Command == "results":
			rows = append(rows, [2]string{what, s.Dir})
		case u.Complete:
			rows = append(rows, [2]string{what, s.Dir}, [2]string{"  upload", fmt.Sprintf("complete, %d records in %d batches", u.AckedRecords, u.Batches)})
		default:
			var doubt int64
			for _, b := range u.Sent {
				doubt += int64(b.Records)
			}
			up := fmt.Sprintf("%d records stored", u.AckedRecords)
			if doubt > 0 {
				up += fmt.Sprintf(", %d in doubt (sent, no answer; a resume settles them)", doubt)
			}
			rows = append(rows, [2]string{what, s.Dir}, [2]string{"  upload", up})
		}
		if m.Poll.Cursor > 0 || m.Poll.Done {
			results := fmt.Sprintf("read up to job data %d", m.Poll.Cursor)
			if m.Poll.Done {
				results = "all read"
			}
			rows = append(rows, [2]string{"  results", results})
		}
		if r.Command == "run" && r.NoWait && !m.Poll.Done && !s.Unfinished() {
			rows = append(rows, [2]string{"  continue", fmt.Sprintf("bulkload results %d (the run did not wait for them)", job.ID)})
		}
		if s.Unfinished() {
			next := fmt.Sprintf("bulkload resume %d", job.ID)
			switch r.Command {
			case "upload":
				next = fmt.Sprintf("bulkload upload --job %d %s", job.ID, shellQuote(r.Input))
			case "results":
				next = fmt.Sprintf("bulkload results %d --results-dir %s", job.ID, shellQuote(r.ResultsDir))
			}
			rows = append(rows, [2]string{"  continue", next})
		}
	}
	return rows
}

// printJob prints the job, then the extra rows, in one table.
func printJob(w io.Writer, j api.Job, extra [][2]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	name := "-"
	if j.Name != nil {
		name = *j.Name
	}
	fmt.Fprintf(tw, "job\t%d\n", j.ID)
	fmt.Fprintf(tw, "name\t%s\n", name)
	fmt.Fprintf(tw, "type\t%s\n", j.Type)
	fmt.Fprintf(tw, "state\t%s\n", j.State)
	fmt.Fprintf(tw, "records\t%d total, %d processed, %d errors\n", j.Total, j.Processed, j.Errors)
	for _, ts := range []struct {
		k string
		v *time.Time
	}{{"created", j.CreatedAt}, {"marked ready", j.MarkedReadyAt}, {"started", j.StartedAt}, {"finished", j.FinishedAt}} {
		if ts.v != nil {
			fmt.Fprintf(tw, "%s\t%s\n", ts.k, ts.v.Local().Format(time.DateTime))
		}
	}
	for _, r := range extra {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	tw.Flush()
}

func (a *app) jobsCommand() *cobra.Command {
	var states []string
	var limit int
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List the team's bulk jobs, newest first",
		Example: `  bulkload jobs
  bulkload jobs --state open,executing`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d: want a number of jobs, or 0 for all", limit)
			}
			var want []api.State
			for _, s := range states {
				for _, p := range strings.Split(s, ",") {
					switch st := api.State(strings.TrimSpace(p)); st {
					case api.StateOpen, api.StateExecuting, api.StateDone:
						want = append(want, st)
					default:
						return usagef("--state %q: want open, executing or done", p)
					}
				}
			}
			c, err := a.newClient(nil)
			if err != nil {
				return err
			}
			// The API lists jobs oldest first, by the id[gt] cursor: every
			// page is read (a call per 100 jobs) to show the newest first.
			var all []api.Job
			for after := int64(0); ; {
				var jobs []api.Job
				err := a.quickRetry().Do(cmd.Context(), func(ctx context.Context, _ int) error {
					var err error
					jobs, _, err = c.ListJobs(ctx, api.ListJobsOptions{After: after, PerPage: api.MaxPerPage, States: want})
					return err
				})
				if err != nil {
					return err
				}
				all = append(all, jobs...)
				if limit > 0 && len(all) > limit {
					all = all[len(all)-limit:]
				}
				if len(jobs) < api.MaxPerPage {
					break
				}
				after = jobs[len(jobs)-1].ID
			}
			slices.Reverse(all)
			enc := json.NewEncoder(a.env.Stdout)
			tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
			if !a.g.json {
				fmt.Fprintln(tw, "ID\tSTATE\tTYPE\tTOTAL\tPROCESSED\tERRORS\tNAME\tCREATED")
			}
			for _, j := range all {
				if a.g.json {
					if err := enc.Encode(j); err != nil {
						return err
					}
					continue
				}
				name, created := "-", "-"
				if j.Name != nil {
					name = *j.Name
				}
				if j.CreatedAt != nil {
					created = j.CreatedAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", j.ID, j.State, j.Type, j.Total, j.Processed, j.Errors, name, created)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringSliceVar(&states, "state", nil, "only jobs in these states (open, executing, done; comma-separated)")
	cmd.Flags().IntVar(&limit, "limit", 0, "list only the newest N jobs (0: all)")
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error (exit 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}
