package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// summary is what every run ends with: on stderr for people, or with --json
// as one JSON object on stdout for scripts.
type summary struct {
	Command        string  `json:"command"`
	JobID          int64   `json:"job_id,omitempty"`
	State          string  `json:"state,omitempty"`
	Input          string  `json:"input,omitempty"`
	Records        int64   `json:"records"`  // valid records read from the input
	Batches        int64   `json:"batches"`  // batches the input makes
	Bytes          int64   `json:"bytes"`    // bytes of request bodies
	Uploaded       int64   `json:"uploaded"` // records stored in the job by this run and earlier ones
	Rejected       int64   `json:"rejected"` // input records refused before upload
	Succeeded      int64   `json:"succeeded"`
	Failed         int64   `json:"failed"`
	APICalls       int64   `json:"api_calls"`
	Retries        int64   `json:"retries"`
	RateLimited    int64   `json:"rate_limited"`
	Reconciled     int64   `json:"reconciled"`
	Duplicates     int64   `json:"duplicates,omitempty"` // records stored twice by --resend-unresolvable
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	DryRun         bool    `json:"dry_run,omitempty"`
	ErrorsOnly     bool    `json:"errors_only,omitempty"`
	Interrupted    bool    `json:"interrupted,omitempty"`
	Files          struct {
		Success string `json:"success,omitempty"`
		Errors  string `json:"errors,omitempty"`
		Rejects string `json:"rejects,omitempty"`
	} `json:"files"`
	Resume string `json:"resume,omitempty"` // the command that continues this run
	Error  string `json:"error,omitempty"`
}

func (s *summary) print(w io.Writer, asJSON bool) {
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
	if s.Input != "" {
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
		row("uploaded", s.Uploaded)
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
	if !s.DryRun {
		row("api calls", fmt.Sprintf("%d (%d retries, %d answered 429, %d reconciliations)", s.APICalls, s.Retries, s.RateLimited, s.Reconciled))
	}
	row("elapsed", (time.Duration(s.ElapsedSeconds * float64(time.Second))).Round(time.Millisecond))
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
