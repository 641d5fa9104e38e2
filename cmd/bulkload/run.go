package main

import (
	"context"
	"os"

	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/load"
	"github.com/bulkload/bulkload/schema"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
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
	newJob        bool // --new-job
	anyType       bool // --any-type
	retry         budget.RetryPolicy
	// Dialect and mapping (run, upload).
	delimiter, encoding, upsertKey string
	maps, sets                     []string
	mapFile                        string
	mapping                        []chunker.MapEntry // parsed by validate
	delim                          rune               // parsed by validate
}

// bind declares the flags; which ones depends on the command.
func (o *runOpts) bind(fs *pflag.FlagSet, cmd string) {
	if cmd == "retry" {
		fs.StringVar(&o.name, "name", "", "the new job's name (default: bulkload, the retry file and the time)")
	}
	if cmd == "run" {
		fs.StringVar(&o.jobType, "type", "", "bulk job type, such as person/upsert (required)")
		fs.StringVar(&o.name, "name", "", "bulk job name (default: bulkload, the file name and the time)")
		fs.BoolVar(&o.newJob, "new-job", false, "start a new job even if this file has an unfinished run (which 'bulkload resume' continues)")
		fs.BoolVar(&o.anyType, "any-type", false, "allow a --type the documentation does not list")
	}
	if cmd != "upload" {
		fs.StringVar(&o.resultsDir, "results-dir", ".", "where <job id>-success, -errors and -rejects files go")
		fs.StringVar(&o.resultsFormat, "results-format", "jsonl", "results file format: jsonl or csv")
		fs.BoolVar(&o.errorsOnly, "errors-only", false, "fetch only the failed records' results (about 1 call per 100 failures)")
		fs.BoolVar(&o.noWait, "no-wait", false, "stop once the job is marked ready; fetch results later with 'bulkload results'")
	} else {
		fs.StringVar(&o.resultsDir, "results-dir", ".", "where the <job id>-rejects file goes")
	}
	if cmd == "run" || cmd == "upload" {
		fs.BoolVar(&o.dryRun, "dry-run", false, "read, validate and chunk the whole input; make no API call")
		fs.StringVar(&o.format, "format", "", "input format: jsonl, json, csv or tsv (default: from the file name, then the content)")
		fs.StringVar(&o.delimiter, "delimiter", "", "CSV separator: , ; tab or | (default: detected from the first lines)")
		fs.StringVar(&o.encoding, "encoding", "", "input encoding: utf-8, windows-1252, iso-8859-1, utf-16le or utf-16be (default utf-8, or the byte order mark's)")
	}
	if cmd != "resume" {
		fs.IntVar(&o.batchSize, "batch-size", chunker.MaxRecordsLimit, "records per upload call, 1..5000")
		fs.IntVar(&o.maxRejects, "max-rejects", 0, "skip up to N invalid records, writing them to the rejects file (0: stop at the first; -1: no limit)")
		fs.StringArrayVar(&o.maps, "map", nil, `map a CSV column to a field: "Email Address=email_address"; "Column=" drops it; a dotted field nests (repeatable)`)
		fs.StringVar(&o.mapFile, "map-file", "", "a file of --map lines (Column=field), # comments")
		fs.StringArrayVar(&o.sets, "set", nil, "give every record a constant: field=value (repeatable)")
		fs.StringVar(&o.upsertKey, "upsert-key", "", "the upsert_key of records that lack one (person/upsert: email_address, crm_id or id)")
	}
	fs.IntVar(&o.workers, "workers", 0, "parallel upload calls (default: 4, more when the API's latency would leave the budget unused)")
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
	case o.workers < 0 || o.workers > 64:
		return usagef("--workers %d: want 1..64 (0: sized to the API)", o.workers)
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
	return o.parseMapping()
}

// parseMapping checks and parses the dialect and mapping flags, each error
// naming its flag.
func (o *runOpts) parseMapping() (err error) {
	if o.upsertKey != "" {
		// The job's type decides (run checks it against --type); here, a
		// key no documented type takes is refused.
		if err := schema.CheckUpsertKey("", o.upsertKey); err != nil {
			return usagef("--upsert-key %q: %v", o.upsertKey, err)
		}
	}
	if o.delimiter != "" {
		if o.delim, err = chunker.ParseDelimiter(o.delimiter); err != nil {
			return usagef("--delimiter: %v", err)
		}
	}
	if o.encoding != "" {
		if o.encoding, err = chunker.ParseEncoding(o.encoding); err != nil {
			return usagef("--encoding: %v", err)
		}
	}
	if o.mapping, err = chunker.ParseMapping(o.mapFile, o.maps, o.sets); err != nil {
		return usagef("--%v", err) // ParseMapping's errors begin with the flag's name
	}
	return nil
}

// input is the load's input from the FILE argument ("-": standard input).
func (a *app) input(path string, o runOpts) load.Input {
	in := load.Input{Path: path, Format: o.format, BatchSize: o.batchSize, MaxRejects: o.maxRejects,
		Delimiter: o.delim, Encoding: o.encoding, Map: o.mapping, UpsertKey: o.upsertKey}
	if path == "-" {
		in.Reader = a.env.Stdin
		if f, ok := a.env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			// Not a pipe: say what it waits for rather than seem to hang.
			a.info("Reading records from the terminal; end with Ctrl-D (or pass a file instead of -).\n")
		}
	}
	return in
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
			if err := checkType(o.jobType, o.anyType); err != nil {
				return err
			}
			if err := schema.CheckUpsertKey(o.jobType, o.upsertKey); o.upsertKey != "" && err != nil {
				return usagef("--upsert-key %q: %v", o.upsertKey, err)
			}
			l, c, err := a.loader(o, !o.dryRun)
			if err != nil {
				return err
			}
			in := a.input(args[0], o)
			return a.perform(cmd.Context(), l, c, o, func(ctx context.Context) (load.Report, error) {
				rep, err := l.Run(ctx, in, load.RunOptions{Type: o.jobType, Name: o.name, NoWait: o.noWait, DryRun: o.dryRun, NewJob: o.newJob, AnyType: o.anyType})
				a.noWaitNote(rep, err, o)
				return rep, err
			})
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
			l, c, err := a.loader(o, !o.dryRun)
			if err != nil {
				return err
			}
			in := a.input(args[0], o)
			return a.perform(cmd.Context(), l, c, o, func(ctx context.Context) (load.Report, error) {
				return l.Upload(ctx, jobID, in, load.UploadOptions{DryRun: o.dryRun})
			})
		},
	}
	cmd.Flags().Int64Var(&jobID, "job", 0, "the open bulk job to upload into (required)")
	o.bind(cmd.Flags(), "upload")
	return cmd
}

func (a *app) resumeCommand() *cobra.Command {
	var o runOpts
	var last bool
	var moved string
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
			id, err := a.jobArg(args, last)
			if err != nil {
				return err
			}
			o.batchSize = chunker.MaxRecordsLimit // not a resume flag: the saved one is used
			if err := o.validate(); err != nil {
				return err
			}
			// The run's own settings, with the flags given now on top.
			fl := cmd.Flags()
			opts := load.ResumeOptions{Input: moved, NoWait: o.noWait}
			if fl.Changed("results-dir") {
				opts.ResultsDir = o.resultsDir
			}
			if fl.Changed("results-format") {
				opts.ResultsFormat = o.resultsFormat
			}
			if fl.Changed("errors-only") {
				opts.ErrorsOnly = &o.errorsOnly
			}
			if fl.Changed("workers") {
				opts.Workers = o.workers
			}
			l, c, err := a.loader(o, true)
			if err != nil {
				return err
			}
			return a.perform(cmd.Context(), l, c, o, func(ctx context.Context) (load.Report, error) {
				rep, err := l.Resume(ctx, id, opts)
				a.noWaitNote(rep, err, o)
				return rep, err
			})
		},
	}
	cmd.Flags().StringVar(&moved, "input", "", "the input's new path, if it was moved since the run began (its content must be the same)")
	cmd.Flags().BoolVar(&last, "last", false, "resume the most recently active run")
	o.bind(cmd.Flags(), "resume")
	return cmd
}

// noWaitNote says, after a --no-wait load, where its results are.
func (a *app) noWaitNote(rep load.Report, err error, o runOpts) {
	if err != nil || !o.noWait || rep.JobID == 0 {
		return
	}
	what := "is ready and will execute on Salesloft's side"
	if rep.State == "done" {
		what = "is done"
	}
	a.info("Job %d %s.\nFetch its results with: bulkload results %d\n", rep.JobID, what, rep.JobID)
}

// checkType refuses a job type the documentation does not list, unless
// --any-type: such a type fails every record after the whole upload.
func checkType(typ string, any bool) error {
	if typ == "" || any {
		return nil
	}
	if err := load.CheckType(typ); err != nil {
		return usagef("--type: %v: pass --any-type to use it anyway", err)
	}
	return nil
}

func (a *app) retryCommand() *cobra.Command {
	var o runOpts
	cmd := &cobra.Command{
		Use:   "retry JOB_ID",
		Short: "Load a job's failed records again, as a new job",
		Long: `retry reads the records job JOB_ID refused (about one call per 100), applies
--map, --set and --upsert-key to them, so a failure the data caused can be
fixed on the way, and loads them as a new job of the same type, streaming its
results like run: beside the job's own results and in their format, unless
--results-dir or --results-format say otherwise. The summary names both jobs. An interrupted retry, run
again, continues its job.`,
		Example: `  bulkload retry 211
  bulkload retry 211 --upsert-key email_address
  bulkload retry 211 --map "Email=email_address" --set "custom_fields.source=retry"`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			// Unset, the library puts them beside the job's own results.
			if !cmd.Flags().Changed("results-dir") {
				o.resultsDir = ""
			}
			if !cmd.Flags().Changed("results-format") {
				o.resultsFormat = ""
			}
			l, c, err := a.loader(o, true)
			if err != nil {
				return err
			}
			in := load.Input{BatchSize: o.batchSize, MaxRejects: o.maxRejects, Map: o.mapping, UpsertKey: o.upsertKey}
			return a.perform(cmd.Context(), l, c, o, func(ctx context.Context) (load.Report, error) {
				return l.Retry(ctx, id, in, load.RunOptions{Name: o.name, NoWait: o.noWait, AnyType: true})
			})
		},
	}
	o.bind(cmd.Flags(), "retry")
	return cmd
}
