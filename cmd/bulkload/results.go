package main

import (
	"github.com/spf13/cobra"
)

func (a *app) resultsCommand() *cobra.Command {
	var o runOpts
	cmd := &cobra.Command{
		Use:   "results JOB_ID",
		Short: "Stream the results of a bulk job to files",
		Long: `results reads a job's per-record results into <job id>-success.jsonl and
<job id>-errors.jsonl (or .csv), waiting while the job executes. With
--errors-only it reads only the failures, at about one call per 100.`,
		Example: `  bulkload results 211
  bulkload results 211 --errors-only --results-format csv --results-dir out/`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			p := &plan{a: a, o: o, command: "results", jobID: id}
			p.sum.JobID = id
			return p.executeResults(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.resultsDir, "results-dir", ".", "where the <job id>-success and -errors files go")
	fs.StringVar(&o.resultsFormat, "results-format", "jsonl", "results file format: jsonl or csv")
	fs.BoolVar(&o.errorsOnly, "errors-only", false, "fetch only the failed records' results")
	o.batchSize, o.workers = 1, 1 // not used; keeps validate happy
	return cmd
}
