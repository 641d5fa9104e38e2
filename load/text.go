package load

import (
	"fmt"
	"strings"
	"time"
)

// String is the report as people read it: the summary the CLI prints on
// stderr at the end of every operation, one "key value" row per line. It
// shows only what the operation did: a row whose count is zero and says
// nothing is left out.
func (r Report) String() string {
	var b strings.Builder
	title := r.Command
	if r.DryRun {
		title += " (dry run: no API calls)"
	}
	fmt.Fprintf(&b, "%s summary\n", title)
	row := func(k string, v any) { fmt.Fprintf(&b, "  %-12s %v\n", k, v) }
	if r.JobID != 0 {
		row("job", fmt.Sprintf("%d (%s)", r.JobID, r.State))
	}
	if r.RetryOf != 0 {
		row("retry of", fmt.Sprintf("job %d: its failed records, loaded again as job %d", r.RetryOf, r.JobID))
	} else if r.Input != "" {
		row("input", r.Input)
	}
	if r.Records > 0 || r.Batches > 0 || r.DryRun || r.Interrupted && r.JobID == 0 {
		records := fmt.Sprintf("%d valid in %d %s (%s)", r.Records, r.Batches, plural(r.Batches, "batch", "batches"), humanBytes(r.Bytes))
		if r.Interrupted && r.JobID == 0 {
			records += ", read before the stop" // the check pass did not finish
		}
		row("records", records)
	}
	if !r.DryRun && r.Command != "results" {
		up := fmt.Sprint(r.Uploaded)
		if r.Sent != r.Uploaded && r.Command != "run" {
			up = fmt.Sprintf("%d (%d sent now, %d stored before)", r.Uploaded, r.Sent, r.Uploaded-r.Sent)
		}
		row("uploaded", up)
	}
	if r.InDoubt > 0 {
		row("in doubt", fmt.Sprintf("%d records sent without an answer; a resume settles them", r.InDoubt))
	}
	if r.Duplicates > 0 {
		row("stored twice", fmt.Sprintf("%d (uploads in doubt that could not be told apart, sent again)", r.Duplicates))
	}
	if r.Rejected > 0 || r.Command != "results" {
		row("rejected", r.Rejected)
	}
	if r.Succeeded > 0 || r.Failed > 0 || r.State == "done" {
		row("succeeded", r.Succeeded)
		if r.ErrorsOnly {
			row("failed", fmt.Sprintf("%d (errors-only: successes not fetched)", r.Failed))
		} else {
			row("failed", r.Failed)
		}
	}
	if c := r.Cost; c != nil {
		row("would cost", fmt.Sprintf("%d API calls: %d uploads, 2 job calls, ~%d job polls, %d results pages", c.Calls, c.Upload, c.Polls, c.Results))
		row("", fmt.Sprintf("%s of the budget share; --errors-only: about %d calls (%s) if 5%% fail", minutes(c.Minutes), c.ErrorsOnlyCalls, minutes(c.ErrorsOnlyMinutes)))
	}
	if !r.DryRun {
		row("api calls", fmt.Sprintf("%d (%d retries, %d answered 429, %d reconciliations)", r.APICalls, r.Retries, r.RateLimited, r.Reconciled))
	}
	if l := r.Lines; l.Unknown > 0 && l.Tied > 0 {
		row("lines", fmt.Sprintf("%d result rows name their input line; %d could not be tied with certainty (left empty)", l.Tied, l.Unknown))
	}
	if r.Written > 0 && r.State != "done" {
		row("written", fmt.Sprintf("%d result rows (the job is not done)", r.Written))
	}
	row("elapsed", time.Duration(r.ElapsedSeconds*float64(time.Second)).Round(time.Millisecond))
	for _, f := range []struct{ k, v string }{{"successes", r.Files.Success}, {"errors", r.Files.Errors}, {"rejects", r.Files.Rejects}} {
		if f.v != "" {
			row(f.k, f.v)
		}
	}
	if r.Resume != "" {
		row("resume with", r.Resume)
	}
	return b.String()
}

// String is the snapshot as one status line, for a progress display that
// redraws it or a log that prints it now and then:
//
//	uploading: 40000/100000 records (40%) · 8 batches · 3.1 MiB · 12.0k/s · ETA 5s · budget 512 left
func (s Stats) String() string {
	switch s.Phase {
	case PhaseCheck:
		c := s.Check
		return fmt.Sprintf("checking %s: %d records, %d rejected, %s read, %s/s", s.Source, c.Records, c.Rejects,
			humanBytes(c.Bytes), humanBytes(int64(float64(c.Bytes)/max(s.Elapsed.Seconds(), 1e-3))))
	case PhaseUpload:
		u := s.Upload
		done := u.Records + u.SkippedRecords
		line := fmt.Sprintf("uploading: %d", done)
		if s.Checked && s.Check.Records > 0 {
			line += fmt.Sprintf("/%d records (%d%%)", s.Check.Records, done*100/s.Check.Records)
		} else {
			line += " records"
		}
		line += fmt.Sprintf(" · %d batches · %s · %s", u.Batches+u.Skipped, humanBytes(u.Bytes), rate(u.Records, s.Elapsed))
		if s.Checked {
			line += " · ETA " + eta(done, s.Check.Records, s.Elapsed)
		}
		return line + s.budgetLeft()
	case PhaseResults:
		p := s.Poll
		// Processed is as of the last job poll; the rows saved since prove more.
		line := fmt.Sprintf("executing: %d/%d processed · %d errors", max(p.Processed, p.Delivered), p.Total, p.Errors)
		if p.Rate > 0 {
			line += fmt.Sprintf(" · %.0f/s", p.Rate)
		}
		return line + fmt.Sprintf(" · %d results saved · %s", p.Delivered, p.State) + s.budgetLeft()
	case PhaseCreate, PhaseReady:
		return string(s.Phase) + " the job…"
	}
	return string(s.Phase)
}

func (s Stats) budgetLeft() string {
	if s.BudgetRemaining < 0 {
		return ""
	}
	return fmt.Sprintf(" · budget %d left", s.BudgetRemaining)
}

// String says what the load costs, as a person deciding to start it reads
// it: the calls of each kind and how long they take at the budget share.
func (c Cost) String() string {
	return fmt.Sprintf("%d API calls (%d uploads, %d results pages, ~%d job polls), %s at the budget share; errors-only: about %d calls (%s) if 5%% fail",
		c.Calls, c.Upload, c.Results, c.Polls, minutes(c.Minutes), c.ErrorsOnlyCalls, minutes(c.ErrorsOnlyMinutes))
}

func minutes(m float64) string {
	return time.Duration(m * float64(time.Minute)).Round(time.Second).String()
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// humanBytes formats n bytes in binary units: "3.1 MiB".
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

// rate formats n per elapsed as "12.3k/s".
func rate(n int64, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "-"
	}
	r := float64(n) / elapsed.Seconds()
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk/s", r/1e3)
	}
	return fmt.Sprintf("%.0f/s", r)
}

// eta formats the time left for done of total at the rate so far.
func eta(done, total int64, elapsed time.Duration) string {
	if done <= 0 || total <= done {
		return "-"
	}
	return time.Duration(float64(elapsed) * float64(total-done) / float64(done)).Round(time.Second).String()
}
