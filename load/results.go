package load

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/manifest"
	"github.com/bulkload/bulkload/poller"
)

// results streams the job's results into the results files until the job
// is done, saving the cursor with the files' offsets as it goes. wait, if
// positive, bounds how long it waits for the job to be done.
func (o *op) results(ctx context.Context, wait time.Duration) error {
	path, linesOf := o.joinIndexOfJob()
	var lost int64
	if linesOf != "" {
		lost, o.set.JoinState = splitOriginsState(o.set.JoinState)
	}
	res, done, several := o.resolver(path)
	defer done()
	if res != nil && linesOf != "" {
		// A retry's rows name where their records came from, not the
		// retry file; without the origins, no line rather than that.
		from, err := readOrigins(linesOf, res)
		if err != nil {
			o.l.warn("result lines: %v; the results are written without their input lines", err)
			res = nil
		} else {
			from.lost = lost
			res, several = from, true
		}
	}
	return o.readInto(ctx, wait, res, several)
}

// joinIndexOfJob is the join index the results of this job are tied by:
// its run's, or, for a job filled by uploads, theirs; "" if none. linesOf
// is the origins file of a retry's run (see origin.go).
func (o *op) joinIndexOfJob() (path, linesOf string) {
	if o.set.Command == "run" && o.dir != "" && o.set.Input != "" {
		return filepath.Join(o.dir, joinFile), o.set.LinesOf
	}
	if o.set.Command == "results" {
		if dir, run := o.runOfJob(); run != nil {
			return filepath.Join(dir, joinFile), run.LinesOf
		}
	}
	if o.l.cfg.StateDir == "" {
		return "", ""
	}
	return uploadsIndex(o.l.cfg.StateDir, o.jobID, o.set.JobCreatedAt), ""
}

// runOfJob is the state directory and settings of this job's run, if this
// machine keeps one of this very job; nil if not.
func (o *op) runOfJob() (string, *manifest.Run) {
	if o.l.cfg.StateDir == "" {
		return "", nil
	}
	dir := runDir(o.l.cfg.StateDir, o.jobID)
	m, err := manifest.Load(dir)
	if err != nil || m.Run == nil || o.sameJob(m, dir) != nil {
		return "", nil
	}
	return dir, m.Run
}

func (o *op) readInto(ctx context.Context, wait time.Duration, res liner, several bool) error {
	o.setPhase(PhaseResults)
	ff := poller.JSONLines
	if o.set.ResultsFormat == "csv" {
		ff = poller.CSV
	}
	fc := poller.FilesConfig{Format: ff, Errors: o.resultsFile("errors")}
	if res != nil {
		fc.Line, fc.WithFile = res.Line, several
	}
	if !o.set.ErrorsOnly {
		fc.Success = o.resultsFile("success")
	}
	var start int64
	if o.m != nil && o.m.Poll.Cursor > 0 {
		fc.Resume = &poller.Offsets{Success: o.set.SuccessOffset, Errors: o.set.ErrorsOffset}
		start = o.m.Poll.Cursor
	}
	if err := os.MkdirAll(o.set.ResultsDir, 0o700); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	files, err := poller.CreateFiles(fc)
	if err != nil {
		return err
	}
	o.rep.Files.Success, o.rep.Files.Errors = fc.Success, fc.Errors
	// checkpoint makes the rows written so far durable and saves the
	// cursor with the files' offsets, so a resume cuts the files back to
	// exactly the rows the cursor covers. It runs at most every
	// checkpointEvery while rows stream (each costs fsyncs), and once at
	// the end, however the poll ended.
	checkpoint := func(cursor int64) error {
		if o.m == nil || o.dir == "" {
			return nil
		}
		if err := files.Sync(); err != nil {
			return err
		}
		off := files.Offsets()
		o.m.Poll.Cursor = cursor
		o.set.SuccessOffset, o.set.ErrorsOffset = off.Success, off.Errors
		if res != nil {
			o.set.JoinState = res.State()
		}
		return o.save()
	}
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var waited *time.Timer
	if wait > 0 {
		waited = time.AfterFunc(wait, func() { cancel(errWaited) })
		defer waited.Stop()
	}
	var saveErr error
	var saved time.Time
	var written int64
	poll, err := poller.New(o.client, poller.Config{
		ErrorsOnly: o.set.ErrorsOnly,
		StartAfter: start,
		Logger:     o.l.cfg.Logger,
		Progress: func(s poller.Stats) {
			if s.State == api.StateDone && waited != nil {
				waited.Stop() // Wait bounds the wait for the job, not the read of a done job's rows
			}
			if saveErr != nil || o.m == nil || s.Cursor == o.m.Poll.Cursor || time.Since(saved) < checkpointEvery {
				return
			}
			saved = time.Now()
			saveErr = checkpoint(s.Cursor)
		},
	})
	if err != nil {
		files.Close()
		return err
	}
	o.mu.Lock()
	o.poll = poll
	o.mu.Unlock()
	lookup, _ := res.(interface{ Prepare(context.Context) error })
	st, err := poll.Run(pctx, o.jobID, func(r api.Result) error {
		if saveErr != nil {
			return saveErr
		}
		if lookup != nil && lookup.Prepare(pctx) != nil && pctx.Err() != nil {
			// Stopped while the index was being sorted (the first row's
			// tie): this row is not written, and the cursor stays before it.
			return pctx.Err()
		}
		if err := files.Write(r); err != nil {
			return err
		}
		written++
		return nil
	})
	if saveErr == nil && st.Cursor > start {
		// Every row up to st.Cursor was handed over and written, whatever
		// stopped the poll.
		saveErr = checkpoint(st.Cursor)
	}
	if cerr := files.Close(); cerr != nil && err == nil {
		err = cerr
	}
	// Files are made by their first row: name only those that exist.
	for _, f := range []*string{&o.rep.Files.Success, &o.rep.Files.Errors} {
		if _, serr := os.Stat(*f); serr != nil {
			*f = ""
		}
	}
	if err == nil && saveErr != nil {
		err = saveErr
	}
	o.rep.Written += written
	if res != nil {
		rs := res.Stats()
		o.rep.Lines.Tied, o.rep.Lines.Unknown = rs.Lines, rs.Empty
	} else if written > 0 {
		o.rep.Lines.Unknown = written
	}
	if st.State != "" {
		o.rep.State = string(st.State)
	}
	switch {
	case st.State == api.StateDone:
		// The whole job's outcome, also when this read continued an
		// earlier one and so handed over only the rows after its cursor.
		o.rep.Succeeded, o.rep.Failed = st.Processed-st.Errors, st.Errors
	case o.set.ErrorsOnly:
		o.rep.Failed = st.DeliveredErrors
		o.rep.Succeeded = st.Processed - st.Errors
	default:
		// Stopped before the end: what this read wrote, not more.
		o.rep.Succeeded = st.Delivered - st.DeliveredErrors
		o.rep.Failed = st.DeliveredErrors
	}
	if err != nil && wait > 0 && errors.Is(context.Cause(pctx), errWaited) && ctx.Err() == nil {
		return &WaitError{JobID: o.jobID, Wait: wait, State: st.State, Ready: st.State != api.StateOpen, Processed: st.Processed, Total: st.Total}
	}
	if err != nil {
		return fmt.Errorf("reading the results of job %d: %w", o.jobID, err)
	}
	if o.m != nil {
		o.m.Poll.Done = true
		o.set.Finished = true
		return o.save()
	}
	return nil
}

var errWaited = errors.New("waited long enough")

// WaitError is returned by Results when the job was not done within
// ResultsOptions.Wait. The rows read so far are saved: Results again goes on
// from them.
type WaitError struct {
	JobID            int64
	Wait             time.Duration
	State            api.State
	Ready            bool
	Processed, Total int64
}

func (e *WaitError) Error() string {
	if e.State == api.StateOpen || e.State == "" {
		return fmt.Sprintf("job %d is still open after %s: it was never marked ready, so it does not execute (mark it ready, then read its results again)", e.JobID, e.Wait)
	}
	return fmt.Sprintf("job %d is not done after %s (%s, %d of %d records processed); the results read so far are kept, and reading again continues", e.JobID, e.Wait, e.State, e.Processed, e.Total)
}

// resultsFile is the path of the job's results file of kind "success" or
// "errors": <results dir>/<prefix>-<kind>.<jsonl|csv>.
func (o *op) resultsFile(kind string) string {
	return filepath.Join(o.set.ResultsDir, fmt.Sprintf("%s-%s.%s", o.resultsPrefix(), kind, o.set.ResultsFormat))
}

// checkpointEvery is how often the results checkpoint is saved while rows
// stream: rarely enough that its fsyncs cost nothing next to the calls,
// often enough that a resume re-reads only seconds of results.
const checkpointEvery = 2 * time.Second

// resultsState finds or starts the saved progress of a Results read, so
// that an interrupted read, run again alike, goes on from its cursor
// instead of reading (and paying for) every page again. A read is keyed by
// job, results folder, format and mode; one that finished, that belongs to
// another job with the same id, or whose files were since removed or cut
// short starts afresh.
//
// Progress that cannot be saved is not worth failing the read for: it
// goes on, not resumable, with a warning.
func (o *op) resultsState(stateDir string, job api.Job) {
	if stateDir == "" {
		return
	}
	mode := "all"
	if o.set.ErrorsOnly {
		mode = "errors"
	}
	key := sha256.Sum256([]byte(o.set.ResultsDir + "\x00" + o.set.ResultsFormat + "\x00" + mode))
	o.dir = filepath.Join(stateDir, fmt.Sprintf("%d-results-%x", o.jobID, key[:6]))
	if m, err := manifest.Load(o.dir); err == nil {
		if m.Run != nil && o.sameJob(m, o.dir) == nil {
			// The same job's earlier read: its files are this read's.
			o.set.ResultsPrefix = m.Run.ResultsPrefix
			if !m.Poll.Done && m.Poll.Cursor > 0 {
				o.m = m
				o.set.SuccessOffset, o.set.ErrorsOffset = m.Run.SuccessOffset, m.Run.ErrorsOffset
				o.set.JoinState = m.Run.JoinState // the tie goes on after the cursor too
				if !o.resultsFilesHold() {
					o.l.warn("the results files of an earlier read of job %d were removed or cut short; reading all results again", o.jobID)
					o.m = nil
					o.set.SuccessOffset, o.set.ErrorsOffset = 0, 0
					o.set.JoinState = nil
				} else {
					o.l.info("Continuing the results of job %d after result %d (an earlier read stopped there)", o.jobID, m.Poll.Cursor)
				}
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		o.l.warn("%v; reading all results again", err)
	}
	if o.m == nil {
		o.m = &manifest.Manifest{JobID: o.jobID, JobType: job.Type}
	}
	if err := o.save(); err != nil {
		o.l.warn("saving the results progress: %v; an interrupted read will start over", err)
		o.m, o.dir = nil, ""
	}
}

// resultsFilesHold reports whether the results files still hold at least
// the bytes saved with the cursor.
func (o *op) resultsFilesHold() bool {
	for _, f := range []struct {
		kind string
		want int64
	}{{"success", o.set.SuccessOffset}, {"errors", o.set.ErrorsOffset}} {
		if f.kind == "success" && o.set.ErrorsOnly || f.want == 0 {
			continue
		}
		st, err := os.Stat(o.resultsFile(f.kind))
		if err != nil || st.Size() < f.want {
			return false
		}
	}
	return true
}
