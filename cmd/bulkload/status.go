package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/load"
	"github.com/spf13/cobra"
)

// quickRetry is the retry policy of one-shot queries (status, jobs): a few
// attempts within seconds, so a wrong URL or a dead server answers fast.
var quickRetry = budget.RetryPolicy{MaxAttempts: 4, MaxElapsed: 10 * time.Second}

func (a *app) statusCommand() *cobra.Command {
	var last bool
	cmd := &cobra.Command{
		Use:   "status [JOB_ID | --last]",
		Short: "Show a bulk job's state and counts, and this machine's saved loads of it",
		Long: `status shows a job as Salesloft reports it (state, records total, processed
and failed, its times) and, below, what this machine saved of its loads: the
records stored, those in doubt (sent without an answer: a resume settles
them), how far the results were read and where they are, and the command
that continues each.`,
		Example: `  bulkload status 211
  bulkload status --last
  bulkload status 211 --json | jq .state`,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := a.jobArg(args, last)
			if err != nil {
				return err
			}
			l, _, err := a.loader(runOpts{retry: quickRetry}, true)
			if err != nil {
				return err
			}
			st, err := l.Status(cmd.Context(), id)
			if err != nil {
				return err
			}
			if a.g.json {
				return json.NewEncoder(a.env.Stdout).Encode(st.Job)
			}
			printJob(a.env.Stdout, st.Job, savedRows(st))
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

// savedRows describes the job's saved loads, what each has done and the
// command that continues it, as rows for printJob.
func savedRows(st load.Status) [][2]string {
	var rows [][2]string
	id := st.Job.ID
	for _, s := range st.Saved {
		m, r := s.Manifest, s.Manifest.Run
		rows = append(rows, [2]string{"saved " + r.Command, s.Dir})
		switch u := m.Upload; {
		case r.Command == "results":
		case u.Complete:
			rows = append(rows, [2]string{"  upload", fmt.Sprintf("complete, %d records in %d batch%s", u.AckedRecords, u.Batches, map[bool]string{true: "es"}[u.Batches != 1])})
		case s.InDoubt() > 0:
			rows = append(rows, [2]string{"  upload", fmt.Sprintf("%d records stored, %d in doubt (sent, no answer; a resume settles them)", u.AckedRecords, s.InDoubt())})
		default:
			rows = append(rows, [2]string{"  upload", fmt.Sprintf("%d records stored", u.AckedRecords)})
		}
		if m.Poll.Done {
			rows = append(rows, [2]string{"  results", "all read"})
		} else if m.Poll.Cursor > 0 {
			rows = append(rows, [2]string{"  results", fmt.Sprintf("read up to job data %d", m.Poll.Cursor)})
		}
		if r.ResultsPrefix != "" && (m.Poll.Done || m.Poll.Cursor > 0) {
			rows = append(rows, [2]string{"  files", filepath.Join(r.ResultsDir, r.ResultsPrefix+"-*."+cmp.Or(r.ResultsFormat, "jsonl"))})
		}
		switch {
		case s.Unfinished() && r.Command == "upload":
			rows = append(rows, [2]string{"  continue", fmt.Sprintf("bulkload upload --job %d %s", id, shellQuote(r.Input))})
		case s.Unfinished() && r.Command == "results":
			rows = append(rows, [2]string{"  continue", fmt.Sprintf("bulkload results %d --results-dir %s", id, shellQuote(r.ResultsDir))})
		case s.Unfinished():
			rows = append(rows, [2]string{"  continue", fmt.Sprintf("bulkload resume %d", id)})
		case r.Command == "run" && r.NoWait && !m.Poll.Done:
			rows = append(rows, [2]string{"  continue", fmt.Sprintf("bulkload results %d (the run did not wait for them)", id)})
		}
	}
	return rows
}

// printJob prints the job, then the extra rows, in one table.
func printJob(w io.Writer, j api.Job, extra [][2]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "job\t%d\nname\t%s\ntype\t%s\nstate\t%s\n", j.ID, orDash(j.Name), j.Type, j.State)
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

func orDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
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
			opts := load.JobsOptions{Newest: limit}
			for _, s := range states {
				for _, p := range strings.Split(s, ",") {
					switch st := api.State(strings.TrimSpace(p)); st {
					case api.StateOpen, api.StateExecuting, api.StateDone:
						opts.States = append(opts.States, st)
					default:
						return usagef("--state %q: want open, executing or done", p)
					}
				}
			}
			l, _, err := a.loader(runOpts{retry: quickRetry}, true)
			if err != nil {
				return err
			}
			jobs, err := l.Jobs(cmd.Context(), opts)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(a.env.Stdout)
			tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
			if !a.g.json {
				fmt.Fprintln(tw, "ID\tSTATE\tTYPE\tTOTAL\tPROCESSED\tERRORS\tNAME\tCREATED")
			}
			for _, j := range jobs {
				if a.g.json {
					if err := enc.Encode(j); err != nil {
						return err
					}
					continue
				}
				created := "-"
				if j.CreatedAt != nil {
					created = j.CreatedAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", j.ID, j.State, j.Type, j.Total, j.Processed, j.Errors, orDash(j.Name), created)
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
