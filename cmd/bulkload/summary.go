package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bulkload/bulkload/load"
)

// printSummary prints what every run ends with: on stderr for people, or
// with --json as one JSON object on stdout for scripts.
func printSummary(w io.Writer, s load.Report, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(s)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	var b strings.Builder
	title := s.Command
	if s.DryRun {
		title += " (dry run: no API calls)"
	}
	fmt.Fprintf(&b, "%s summary\n", title)
	row := func(k string, v any) { fmt.Fprintf(&b, "  %-12s %v\n", k, v) }
	if s.JobID != 0 {
		row("job", fmt.Sprintf("%d (%s)", s.JobID, s.State))
	}
	if s.RetryOf != 0 {
		row("retry of", fmt.Sprintf("job %d: its failed records, loaded again as job %d", s.RetryOf, s.JobID))
	} else if s.Input != "" {
		row("input", s.Input)
	}
	if s.Records > 0 || s.Batches > 0 || s.DryRun || s.Interrupted && s.JobID == 0 {
		batches := "batches"
		if s.Batches == 1 {
			batches = "batch"
		}
		records := fmt.Sprintf("%d valid in %d %s (%s)", s.Records, s.Batches, batches, humanBytes(s.Bytes))
		if s.Interrupted && s.JobID == 0 {
			records += ", read before the stop" // the check pass did not finish
		}
		row("records", records)
	}
	if !s.DryRun && s.Command != "results" {
		up := fmt.Sprint(s.Uploaded)
		if s.Sent != s.Uploaded && s.Command != "run" {
			up = fmt.Sprintf("%d (%d sent now, %d stored before)", s.Uploaded, s.Sent, s.Uploaded-s.Sent)
		}
		row("uploaded", up)
	}
	if s.InDoubt > 0 {
		row("in doubt", fmt.Sprintf("%d records sent without an answer; a resume settles them", s.InDoubt))
	}
	if s.Duplicates > 0 {
		row("stored twice", fmt.Sprintf("%d (uploads in doubt that could not be told apart, sent again)", s.Duplicates))
	}
	if s.Rejected > 0 || s.Command != "results" {
		row("rejected", s.Rejected)
	}
	if s.Succeeded > 0 || s.Failed > 0 || s.State == "done" {
		row("succeeded", s.Succeeded)
		if s.ErrorsOnly {
			row("failed", fmt.Sprintf("%d (errors-only: successes not fetched)", s.Failed))
		} else {
			row("failed", s.Failed)
		}
	}
	if c := s.Cost; c != nil {
		row("would cost", fmt.Sprintf("%d API calls: %d uploads, 2 job calls, ~%d job polls, %d results pages", c.Calls, c.Upload, c.Polls, c.Results))
		row("", fmt.Sprintf("%s of the budget share; --errors-only: about %d calls (%s) if 5%% fail", minutes(c.Minutes), c.ErrorsOnlyCalls, minutes(c.ErrorsOnlyMinutes)))
	}
	if !s.DryRun {
		row("api calls", fmt.Sprintf("%d (%d retries, %d answered 429, %d reconciliations)", s.APICalls, s.Retries, s.RateLimited, s.Reconciled))
	}
	if l := s.Lines; l.Unknown > 0 && l.Tied > 0 {
		row("lines", fmt.Sprintf("%d result rows name their input line; %d could not be tied with certainty (left empty)", l.Tied, l.Unknown))
	}
	if s.Written > 0 && s.State != "done" {
		row("written", fmt.Sprintf("%d result rows (the job is not done)", s.Written))
	}
	row("elapsed", elapsed(s.ElapsedSeconds))
	for _, f := range []struct{ k, v string }{{"successes", s.Files.Success}, {"errors", s.Files.Errors}, {"rejects", s.Files.Rejects}} {
		if f.v != "" {
			row(f.k, f.v)
		}
	}
	if s.Resume != "" {
		row("resume with", s.Resume)
	}
	io.WriteString(w, b.String())
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
