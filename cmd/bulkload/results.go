package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/manifest"
	"github.com/spf13/cobra"
)

func (a *app) resultsCommand() *cobra.Command {
	var o runOpts
	cmd := &cobra.Command{
		Use:   "results JOB_ID",
		Short: "Stream the results of a bulk job to files",
		Long: `results reads a job's per-record results into <job id>-success.jsonl and
<job id>-errors.jsonl (or .csv), waiting while the job executes. With
--errors-only it reads only the failures, at about one call per 100.
An interrupted read, run again with the same flags, continues from where it
stopped (its progress is kept in the state directory); a finished one, run
again, reads everything afresh.`,
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

// resultsState finds or starts the saved progress of this results read, so
// that an interrupted results command, run again alike, goes on from its
// cursor instead of reading (and paying for) every page again. A read is
// keyed by job, results folder, format and mode; one that finished, that
// belongs to another job with the same id, or whose files were since
// removed or cut short starts afresh.
//
// Progress that cannot be saved is not worth failing the read for: it
// goes on, not resumable, with a warning.
func (p *plan) resultsState(job api.Job) error {
	stateDir, err := p.a.stateDir()
	if err != nil {
		fmt.Fprintf(p.a.env.Stderr, "bulkload: warning: %v; an interrupted read will start over\n", err)
		return nil
	}
	mode := "all"
	if p.o.errorsOnly {
		mode = "errors"
	}
	key := sha256.Sum256([]byte(p.o.resultsDir + "\x00" + p.o.resultsFormat + "\x00" + mode))
	p.dir = filepath.Join(stateDir, fmt.Sprintf("%d-results-%x", p.jobID, key[:6]))
	if m, err := manifest.Load(p.dir); err == nil {
		p.m = m
		switch {
		case m.Poll.Done || m.Poll.Cursor == 0 || p.sameJob(p.dir) != nil:
			p.m = nil
		case !p.resultsFilesHold():
			fmt.Fprintf(p.a.env.Stderr, "bulkload: the results files of an earlier read of job %d were removed or cut short; reading all results again\n", p.jobID)
			p.m = nil
		default:
			p.a.info("Continuing the results of job %d after result %d (an earlier read stopped there)\n", p.jobID, m.Poll.Cursor)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(p.a.env.Stderr, "bulkload: warning: %v; reading all results again\n", err)
	}
	if p.m == nil {
		p.m = &manifest.Manifest{JobID: p.jobID, JobType: job.Type, Extra: map[string]string{}}
	}
	x := p.m.Extra
	x["command"], x["results_dir"], x["results_format"] = "results", p.o.resultsDir, p.o.resultsFormat
	x["errors_only"] = strconv.FormatBool(p.o.errorsOnly)
	if p.jobCreated != "" {
		x["job_created_at"] = p.jobCreated
	}
	if err := p.m.Save(p.dir); err != nil {
		fmt.Fprintf(p.a.env.Stderr, "bulkload: warning: saving the results progress: %v; an interrupted read will start over\n", err)
		p.m, p.dir = nil, ""
	}
	return nil
}

// resultsFilesHold reports whether the results files still hold at least
// the bytes saved with the cursor.
func (p *plan) resultsFilesHold() bool {
	for _, f := range []struct{ kind, offset string }{{"success", "success_offset"}, {"errors", "errors_offset"}} {
		want, _ := strconv.ParseInt(p.extra(f.offset), 10, 64)
		if f.kind == "success" && p.o.errorsOnly || want == 0 {
			continue
		}
		st, err := os.Stat(p.resultsFile(f.kind))
		if err != nil || st.Size() < want {
			return false
		}
	}
	return true
}

// resultsCommandLine is the results command that continues this one.
func (p *plan) resultsCommandLine() string {
	line := fmt.Sprintf("bulkload results %d", p.jobID)
	if p.o.errorsOnly {
		line += " --errors-only"
	}
	if p.o.resultsFormat != "jsonl" {
		line += " --results-format " + p.o.resultsFormat
	}
	if wd, err := os.Getwd(); err != nil || wd != p.o.resultsDir {
		line += " --results-dir " + shellQuote(p.o.resultsDir)
	}
	return line
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>()*?[]{}~!#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
