package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/poller"
)

// results streams the job's results into the results files until the job
// is done, saving the cursor with the files' offsets as it goes.
func (p *plan) results(ctx context.Context) error {
	ff := poller.JSONLines
	if p.o.resultsFormat == "csv" {
		ff = poller.CSV
	}
	fc := poller.FilesConfig{Format: ff, Errors: p.resultsFile("errors")}
	if !p.o.errorsOnly {
		fc.Success = p.resultsFile("success")
	}
	var start int64
	if p.m != nil && p.m.Poll.Cursor > 0 && p.extra("success_offset") != "" {
		so, _ := strconv.ParseInt(p.extra("success_offset"), 10, 64)
		eo, _ := strconv.ParseInt(p.extra("errors_offset"), 10, 64)
		fc.Resume = &poller.Offsets{Success: so, Errors: eo}
		start = p.m.Poll.Cursor
	}
	files, err := poller.CreateFiles(fc)
	if err != nil {
		return err
	}
	p.sum.Files.Success, p.sum.Files.Errors = fc.Success, fc.Errors
	// checkpoint makes the rows written so far durable and saves the
	// cursor with the files' offsets, so a resume cuts the files back to
	// exactly the rows the cursor covers. It runs at most every
	// checkpointEvery while rows stream (each costs fsyncs), and once at
	// the end, however the poll ended.
	checkpoint := func(cursor int64) error {
		if p.m == nil || p.dir == "" {
			return nil
		}
		if err := files.Sync(); err != nil {
			return err
		}
		off := files.Offsets()
		p.m.Poll.Cursor = cursor
		p.m.Extra["success_offset"] = strconv.FormatInt(off.Success, 10)
		p.m.Extra["errors_offset"] = strconv.FormatInt(off.Errors, 10)
		if err := p.m.Save(p.dir); err != nil {
			return fmt.Errorf("saving the manifest: %w", err)
		}
		return nil
	}
	var saveErr error
	var saved time.Time
	p.poll, err = poller.New(p.client, poller.Config{
		ErrorsOnly: p.o.errorsOnly,
		StartAfter: start,
		Logger:     p.a.logger(),
		Progress: func(s poller.Stats) {
			if saveErr != nil || p.m == nil || s.Cursor == p.m.Poll.Cursor || time.Since(saved) < checkpointEvery {
				return
			}
			saved = time.Now()
			saveErr = checkpoint(s.Cursor)
		},
	})
	if err != nil {
		files.Close()
		return usageError{err}
	}
	prog := startProgress(p.a.env.Stderr, p.a.progressOn(), p.pollLine)
	st, err := p.poll.Run(ctx, p.jobID, func(r api.Result) error {
		if saveErr != nil {
			return saveErr
		}
		return files.Write(r)
	})
	prog.stop()
	if saveErr == nil && st.Cursor > start {
		// Every row up to st.Cursor was handed over and written, whatever
		// stopped the poll.
		saveErr = checkpoint(st.Cursor)
	}
	if cerr := files.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil && saveErr != nil {
		err = saveErr
	}
	p.sum.State = string(st.State)
	switch {
	case st.State == api.StateDone:
		// The whole job's outcome, also when this read continued an
		// earlier one and so handed over only the rows after its cursor.
		p.sum.Succeeded, p.sum.Failed = st.Processed-st.Errors, st.Errors
	case p.o.errorsOnly:
		p.sum.Failed = st.DeliveredErrors
		p.sum.Succeeded = st.Processed - st.Errors
	default:
		p.sum.Succeeded = st.Delivered - st.DeliveredErrors
		p.sum.Failed = st.DeliveredErrors
	}
	if err != nil {
		return fmt.Errorf("reading the results of job %d: %w", p.jobID, err)
	}
	if p.m != nil && p.dir != "" {
		p.m.Poll.Done = true
		if err := p.m.Save(p.dir); err != nil {
			return fmt.Errorf("saving the manifest: %w", err)
		}
	}
	return nil
}

// resultsFile is the path of the job's results file of kind "success" or
// "errors": <results dir>/<job id>-<kind>.<jsonl|csv>.
func (p *plan) resultsFile(kind string) string {
	return filepath.Join(p.o.resultsDir, fmt.Sprintf("%d-%s.%s", p.jobID, kind, p.o.resultsFormat))
}

// checkpointEvery is how often the results checkpoint is saved while rows
// stream: rarely enough that its fsyncs cost nothing next to the calls,
// often enough that a resume re-reads only seconds of results.
const checkpointEvery = 2 * time.Second

func (p *plan) pollLine() string {
	s := p.poll.Stats()
	line := fmt.Sprintf("executing: %d/%d processed · %d errors", s.Processed, s.Total, s.Errors)
	if s.Rate > 0 {
		line += fmt.Sprintf(" · %.0f/s", s.Rate)
	}
	line += fmt.Sprintf(" · %d results saved · %s", s.Delivered, s.State)
	if b := p.bud.Stats(); b.Remaining >= 0 {
		line += fmt.Sprintf(" · budget %d left", b.Remaining)
	}
	return line
}
