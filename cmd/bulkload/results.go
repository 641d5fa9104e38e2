package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/load"
	"github.com/spf13/cobra"
)

func (a *app) resultsCommand() *cobra.Command {
	var o runOpts
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "results JOB_ID",
		Short: "Stream the results of a bulk job to files",
		Long: `results reads a job's per-record results into <job id>-success.jsonl and
<job id>-errors.jsonl (or .csv), waiting while the job executes. With
--errors-only it reads only the failures, at about one call per 100.
An interrupted read, run again with the same flags, continues from where it
stopped (its progress is kept in the state directory); a finished one, run
again, reads everything afresh. A job never marked ready does not execute:
results says so, and --wait bounds how long it waits (exit 1 after it).`,
		Example: `  bulkload results 211
  bulkload results 211 --errors-only --results-format csv --results-dir out/
  bulkload results 211 --wait 10m`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			if wait < 0 {
				return usagef("--wait %s: want a duration of 0 (no limit) or more", wait)
			}
			if err := o.validate(); err != nil {
				return err
			}
			l, c, err := a.loader(o, true)
			if err != nil {
				return err
			}
			return a.perform(cmd.Context(), l, c, o, func(ctx context.Context) (load.Report, error) {
				return l.Results(ctx, id, load.ResultsOptions{Wait: wait})
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.resultsDir, "results-dir", ".", "where the <job id>-success and -errors files go")
	fs.StringVar(&o.resultsFormat, "results-format", "jsonl", "results file format: jsonl or csv")
	fs.BoolVar(&o.errorsOnly, "errors-only", false, "fetch only the failed records' results")
	fs.DurationVar(&wait, "wait", 0, "stop (exit 1) if the job is not done after this long; 0: wait as long as it takes")
	o.batchSize, o.workers = 1, 1 // not used; keeps validate happy
	return cmd
}

func (a *app) createCommand() *cobra.Command {
	var typ, name string
	var anyType bool
	cmd := &cobra.Command{
		Use:   "create --type TYPE [--name NAME]",
		Short: "Create an open bulk job and print its id",
		Long: `create makes an empty, open bulk job and prints its id on stdout (with --json,
the job). Fill it with 'bulkload upload --job ID FILE', then mark it ready with
'bulkload ready ID'. A create whose answer is lost is followed by a look for the
job it made, so one create never makes two jobs.`,
		Example: `  id=$(bulkload create --type person/upsert --name "nightly sync")
  bulkload upload --job "$id" part1.csv && bulkload upload --job "$id" part2.csv
  bulkload ready "$id" && bulkload results "$id"`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ == "" {
				return usagef("--type is required, such as --type person/upsert")
			}
			if err := checkType(typ, anyType); err != nil {
				return err
			}
			l, _, err := a.loader(runOpts{}, true)
			if err != nil {
				return err
			}
			job, err := l.Create(cmd.Context(), typ, name)
			if err != nil {
				return err
			}
			return a.printJobResult(job, fmt.Sprintf("%d", job.ID))
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "bulk job type, such as person/upsert (required)")
	cmd.Flags().StringVar(&name, "name", "", "bulk job name (default: bulkload and the time)")
	cmd.Flags().BoolVar(&anyType, "any-type", false, "allow a --type the documentation does not list")
	return cmd
}

func (a *app) readyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ready JOB_ID",
		Short: "Mark an open bulk job ready to execute",
		Long: `ready marks the job ready to execute: Salesloft then processes its records.
A mark whose answer was lost is recognised (the job is then executing), so
running ready again is safe. It waits for no upload: one running into the job
on this machine makes it fail at once.`,
		Example: `  bulkload ready 211 && bulkload results 211`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			l, _, err := a.loader(runOpts{}, true)
			if err != nil {
				return err
			}
			job, err := l.Ready(cmd.Context(), id)
			if err != nil {
				return err
			}
			a.info("Job %d is %s: read its results with 'bulkload results %d'\n", job.ID, job.State, job.ID)
			return a.printJobResult(job, "")
		},
	}
}

// printJobResult prints a job as JSON with --json, else plain (if not "").
func (a *app) printJobResult(job api.Job, plain string) error {
	if a.g.json {
		return json.NewEncoder(a.env.Stdout).Encode(job)
	}
	if plain != "" {
		fmt.Fprintln(a.env.Stdout, plain)
	}
	return nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
