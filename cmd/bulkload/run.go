package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/manifest"
	"github.com/bulkload/bulkload/uploader"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runOpts are the flags of run, resume and upload.
type runOpts struct {
	jobType       string
	name          string
	resultsDir    string
	resultsFormat string
	errorsOnly    bool
	noWait        bool
	dryRun        bool
	workers       int
	batchSize     int
	format        string
	maxRejects    int
	resend        bool // --resend-unresolvable
}

// bind declares the flags; which ones depends on the command.
func (o *runOpts) bind(fs *pflag.FlagSet, cmd string) {
	if cmd == "run" {
		fs.StringVar(&o.jobType, "type", "", "bulk job type, such as person/upsert (required)")
		fs.StringVar(&o.name, "name", "", "bulk job name (default: bulkload, the file name and the time)")
	}
	if cmd != "upload" {
		fs.StringVar(&o.resultsDir, "results-dir", ".", "where <job id>-success, -errors and -rejects files go")
		fs.StringVar(&o.resultsFormat, "results-format", "jsonl", "results file format: jsonl or csv")
		fs.BoolVar(&o.errorsOnly, "errors-only", false, "fetch only the failed records' results (about 1 call per 100 failures)")
		fs.BoolVar(&o.noWait, "no-wait", false, "stop once the job is marked ready; fetch results later with 'bulkload results'")
	} else {
		fs.StringVar(&o.resultsDir, "results-dir", ".", "where the <job id>-rejects file goes")
	}
	if cmd != "resume" {
		fs.BoolVar(&o.dryRun, "dry-run", false, "read, validate and chunk the whole input; make no API call")
		fs.IntVar(&o.batchSize, "batch-size", chunker.MaxRecordsLimit, "records per upload call, 1..5000")
		fs.StringVar(&o.format, "format", "", "input format: jsonl, json, csv or tsv (default: from the file name, then the content)")
		fs.IntVar(&o.maxRejects, "max-rejects", 0, "skip up to N invalid records, writing them to the rejects file (0: stop at the first; -1: no limit)")
	}
	fs.IntVar(&o.workers, "workers", uploader.DefaultWorkers, "parallel upload calls")
	fs.BoolVar(&o.resend, "resend-unresolvable", false,
		"when uploads in doubt cannot be told apart (an input that repeats records), send them again rather than stop; the summary counts the records stored twice")
}

func (o *runOpts) validate() error {
	if o.resultsFormat == "" {
		o.resultsFormat = "jsonl" // upload has no results
	}
	switch {
	case o.batchSize < 1 || o.batchSize > chunker.MaxRecordsLimit:
		return usagef("--batch-size %d: want 1..%d", o.batchSize, chunker.MaxRecordsLimit)
	case o.workers < 1 || o.workers > 64:
		return usagef("--workers %d: want 1..64", o.workers)
	case o.resultsFormat != "jsonl" && o.resultsFormat != "csv":
		return usagef("--results-format %q: want jsonl or csv", o.resultsFormat)
	case o.maxRejects < -1:
		return usagef("--max-rejects %d: want -1 (no limit) or more", o.maxRejects)
	case o.errorsOnly && o.noWait:
		return usagef("--errors-only and --no-wait: --no-wait fetches no results")
	}
	if o.format != "" {
		if _, err := chunker.ParseFormat(o.format); err != nil {
			return usageError{err}
		}
	}
	if !o.dryRun {
		if err := os.MkdirAll(o.resultsDir, 0o700); err != nil {
			return fmt.Errorf("results directory: %w", err)
		}
	}
	return nil
}

func (a *app) runCommand() *cobra.Command {
	var o runOpts
	cmd := &cobra.Command{
		Use:   "run --type TYPE [flags] FILE",
		Short: "Create a bulk job, upload FILE into it, and stream the results",
		Long: `run is the whole job: it checks FILE, creates a bulk job, uploads every record
exactly once within the team's rate limit, marks the job ready, and streams
each record's result to <job id>-success.jsonl and <job id>-errors.jsonl
until the job is done. FILE is JSON Lines, a JSON array or CSV/TSV with a
header row, optionally gzipped; "-" reads standard input (not resumable).

An interrupted run (Ctrl-C, a crash, a lost connection) continues with
'bulkload resume JOB_ID' without storing any record twice.

Exit codes: 0 every record succeeded; 1 the run failed; 2 usage error;
3 the job finished but some records failed or were rejected; 130 interrupted.`,
		Example: `  export SALESLOFT_API_KEY=...
  bulkload run --type person/upsert people.csv
  bulkload run --type person/upsert --errors-only --results-dir out/ people.jsonl.gz
  bulkload run --type person/upsert --dry-run --json people.csv
  zcat export.jsonl.gz | bulkload run --type person/upsert -`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.jobType == "" && !o.dryRun {
				return usagef("--type is required, such as --type person/upsert")
			}
			if err := o.validate(); err != nil {
				return err
			}
			p := &plan{a: a, o: o, command: "run", input: args[0]}
			return p.execute(cmd.Context())
		},
	}
	o.bind(cmd.Flags(), "run")
	return cmd
}

func (a *app) uploadCommand() *cobra.Command {
	var o runOpts
	var jobID int64
	cmd := &cobra.Command{
		Use:   "upload --job JOB_ID [flags] FILE",
		Short: "Upload FILE into an existing open bulk job (without marking it ready)",
		Long: `upload stores FILE's records in an open job, exactly once, and leaves the job
open: upload more files into it, then mark it ready yourself. An interrupted
upload continues when the same command is run again.`,
		Example: `  bulkload upload --job 211 people-part1.csv
  bulkload upload --job 211 --dry-run people-part2.jsonl`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if jobID <= 0 && !o.dryRun {
				return usagef("--job JOB_ID is required")
			}
			if err := o.validate(); err != nil {
				return err
			}
			p := &plan{a: a, o: o, command: "upload", input: args[0], jobID: jobID}
			p.sum.JobID = jobID
			return p.execute(cmd.Context())
		},
	}
	cmd.Flags().Int64Var(&jobID, "job", 0, "the open bulk job to upload into (required)")
	o.bind(cmd.Flags(), "upload")
	return cmd
}

func (a *app) resumeCommand() *cobra.Command {
	var o runOpts
	var last bool
	cmd := &cobra.Command{
		Use:   "resume [JOB_ID | --last]",
		Short: "Continue an interrupted run from its manifest",
		Long: `resume continues a run or upload that stopped: it skips the batches the job
already holds, reconciles the uploads whose outcome was unknown (so no record
is stored twice), uploads the rest, then marks the job ready and streams the
remaining results, appending to the same files. The input file must be
unchanged; resume refuses a file that differs from the one the run began with.`,
		Example: `  bulkload resume 211
  bulkload resume --last`,
		RunE: func(cmd *cobra.Command, args []string) error {
			stateDir, err := a.stateDir()
			if err != nil {
				return err
			}
			var id int64
			switch {
			case last && len(args) == 0:
				if id, err = lastJob(stateDir); err != nil {
					return err
				}
			case !last && len(args) == 1:
				if id, err = parseJobID(args[0]); err != nil {
					return err
				}
			default:
				return usagef("resume takes a JOB_ID or --last")
			}
			dir := filepath.Join(stateDir, strconv.FormatInt(id, 10))
			m, err := manifest.Load(dir)
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("no saved run of job %d in %s: only runs started with a file (not stdin) can be resumed", id, stateDir)
			}
			if err != nil {
				return err
			}
			// The run's own settings, with the flags given now on top.
			x := m.Extra
			saved := runOpts{
				jobType: m.JobType, resultsDir: x["results_dir"], resultsFormat: x["results_format"],
				errorsOnly: x["errors_only"] == "true", format: x["format"],
			}
			saved.workers, _ = strconv.Atoi(x["workers"])
			saved.batchSize, _ = strconv.Atoi(x["batch_size"])
			saved.maxRejects, _ = strconv.Atoi(x["max_rejects"])
			fl := cmd.Flags()
			for _, f := range []struct {
				name string
				set  func()
			}{
				{"results-dir", func() { saved.resultsDir = o.resultsDir }},
				{"results-format", func() { saved.resultsFormat = o.resultsFormat }},
				{"errors-only", func() { saved.errorsOnly = o.errorsOnly }},
				{"no-wait", func() { saved.noWait = o.noWait }},
				{"workers", func() { saved.workers = o.workers }},
				{"resend-unresolvable", func() { saved.resend = o.resend }},
			} {
				if fl.Changed(f.name) {
					f.set()
				}
			}
			if saved.workers == 0 {
				saved.workers = uploader.DefaultWorkers
			}
			if saved.resultsDir == "" {
				saved.resultsDir = "."
			}
			if saved.resultsFormat == "" {
				saved.resultsFormat = "jsonl"
			}
			if err := saved.validate(); err != nil {
				return err
			}
			command := "resume"
			p := &plan{a: a, o: saved, command: command, input: m.Input.Path, jobID: id, m: m, dir: dir}
			if in := x["input"]; in != "" {
				p.input = in
			}
			p.sum.JobID = id
			return p.execute(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&last, "last", false, "resume the most recently active run")
	o.bind(cmd.Flags(), "resume")
	return cmd
}

// lastJob is the job of the most recently saved manifest in stateDir.
func lastJob(stateDir string) (int64, error) {
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		return 0, fmt.Errorf("state directory: %w", err)
	}
	type cand struct {
		id  int64
		mod int64
	}
	var cands []cand
	for _, e := range entries {
		id, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || !e.IsDir() {
			continue
		}
		st, err := os.Stat(filepath.Join(stateDir, e.Name(), manifest.FileName))
		if err != nil {
			continue
		}
		cands = append(cands, cand{id, st.ModTime().UnixNano()})
	}
	if len(cands) == 0 {
		return 0, fmt.Errorf("no saved runs in %s", stateDir)
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].mod > cands[j].mod })
	return cands[0].id, nil
}
