package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/manifest"
)

// ResumeOptions change how a Resume continues. Zero fields keep what the
// interrupted load saved.
type ResumeOptions struct {
	// Input is the input's new path, for a file moved since the load
	// began; its content must be unchanged.
	Input string
	// ResultsDir, ResultsFormat and Workers replace the saved ones when set.
	ResultsDir    string
	ResultsFormat string
	Workers       int
	// ErrorsOnly, if set, replaces the saved mode.
	ErrorsOnly *bool
	// NoWait stops once the job is marked ready.
	NoWait bool
}

// Resume continues job id's interrupted load from the manifest in the
// StateDir: it proves the input is the same, skips the batches the job
// holds, reconciles the uploads in doubt (so no record is stored twice),
// uploads the rest, marks the job ready and continues the results from
// the saved cursor, cutting the results files back to it. A job filled by
// Upload calls only is continued the same way: each unfinished upload,
// then ready, then results. It holds the job's lock throughout.
func (l *Loader) Resume(ctx context.Context, id int64, opts ResumeOptions) (Report, error) {
	o, end, err := l.start("resume", id, false)
	if err != nil {
		return Report{}, err
	}
	defer end()
	return o.finish(o.resume(ctx, opts))
}

func (o *op) resume(ctx context.Context, opts ResumeOptions) error {
	stateDir, err := o.l.stateDir()
	if err != nil {
		return err
	}
	if stateDir == "" {
		return errNoState
	}
	if o.lock, err = lockJob(stateDir, o.jobID, "resume"); err != nil {
		return err
	}
	dir := runDir(stateDir, o.jobID)
	m, err := manifest.Load(dir)
	if errors.Is(err, os.ErrNotExist) {
		return o.resumeUploads(ctx, stateDir, opts)
	}
	if err != nil {
		return err
	}
	if m.Run == nil {
		return fmt.Errorf("the saved state in %s was not made by a run: it cannot be resumed", dir)
	}
	o.m, o.dir = m, dir
	o.set = *m.Run
	o.set.Command = "run"
	o.override(opts)
	o.rep.Input = o.set.Input
	o.reader = &Input{Path: o.set.Input}
	job, err := o.getJob(ctx)
	if err != nil {
		return err
	}
	if err := o.sameJob(m, dir); err != nil {
		return err
	}
	if job.State != api.StateOpen && !m.Upload.Complete && !o.set.Ready {
		return fmt.Errorf("job %d is %s: it takes no more job data, and the saved run had stored %d records of %s",
			o.jobID, job.State, m.Upload.AckedRecords, o.set.Input)
	}
	if m.Upload.Complete {
		// The input is no longer needed: only ready and results remain.
		o.rep.Records, o.rep.Batches = m.Upload.AckedRecords, int64(m.Upload.Batches)
		o.rep.Bytes, o.rep.Rejected = o.set.Bytes, o.set.Rejected
		if f := o.rejectsPath(); o.set.Rejected > 0 && fileExists(f) {
			o.rep.Files.Rejects = f
		}
	} else {
		if err := o.sameInput(opts.Input); err != nil {
			return err
		}
		if err := o.checkInput(ctx); err != nil {
			return err
		}
	}
	if err := o.save(); err != nil {
		return err
	}
	return o.rest(ctx)
}

// override applies the options given to a resume on top of the saved ones.
func (o *op) override(opts ResumeOptions) {
	if opts.ResultsDir != "" {
		o.set.ResultsDir = abs(opts.ResultsDir)
	}
	if opts.ResultsFormat != "" {
		o.set.ResultsFormat = opts.ResultsFormat
	}
	if opts.ErrorsOnly != nil {
		o.set.ErrorsOnly = *opts.ErrorsOnly
	}
	if opts.Workers != 0 {
		o.set.Workers = opts.Workers
	}
	o.set.NoWait = o.set.NoWait || opts.NoWait
	if o.set.Workers == 0 {
		o.set.Workers = o.l.cfg.Workers
	}
	if o.set.ResultsDir == "" {
		o.set.ResultsDir = abs(".")
	}
	if o.set.ResultsFormat == "" {
		o.set.ResultsFormat = "jsonl"
	}
	o.rep.ErrorsOnly = o.set.ErrorsOnly
}

// sameInput proves the input at the saved path (or at moved, the path it
// was moved to) is the one the saved upload began with, and says what
// changed if not.
func (o *op) sameInput(moved string) error {
	if moved != "" {
		o.set.Input = abs(moved)
		o.reader.Path = o.set.Input
		o.rep.Input = o.set.Input
	}
	in, err := manifest.InputOf(o.set.Input, o.set.Format)
	if errors.Is(err, os.ErrNotExist) {
		return &InputChangedError{JobID: o.jobID, Path: o.set.Input, Missing: true, Stored: o.m.Upload.AckedRecords}
	}
	if err != nil {
		return err
	}
	if err := o.m.Check(in, o.chunking()); err != nil {
		if errors.Is(err, manifest.ErrMismatch) && (in.Size != o.m.Input.Size || in.Fingerprint != o.m.Input.Fingerprint) {
			return o.changed(in)
		}
		return fmt.Errorf("cannot continue job %d from %s: %w", o.jobID, o.dir, err)
	}
	o.m.Input.Path = o.set.Input
	return nil
}

// InputChangedError refuses to continue an upload whose input is not the
// one it began with: the batches it stored would not be the batches it
// skips, and records would be lost or stored twice.
type InputChangedError struct {
	JobID   int64
	Path    string
	Missing bool // the file is gone (moved: give its new path)
	// What changed, for people: size, time, and whether the batches
	// already stored still read the same.
	What string
	// Stored is how many records of the input the job holds.
	Stored int64
}

func (e *InputChangedError) Error() string {
	if e.Missing {
		return fmt.Sprintf("%s, the input of job %d's upload, is gone (the job holds %d records of it): if it was moved, give its new path", e.Path, e.JobID, e.Stored)
	}
	return fmt.Sprintf("%s changed since job %d's upload of it began (%s): continuing would store records twice or lose them, so nothing was sent; the job holds %d records of the earlier file", e.Path, e.JobID, e.What, e.Stored)
}

// changed describes how the input differs from the saved one.
func (o *op) changed(now manifest.Input) error {
	was := o.m.Input
	what := fmt.Sprintf("%d bytes, was %d", now.Size, was.Size)
	if now.Size == was.Size {
		what = fmt.Sprintf("same size, %d bytes, other content", now.Size)
	}
	if !now.ModTime.Equal(was.ModTime) && !was.ModTime.IsZero() {
		what += fmt.Sprintf("; modified %s, was %s", now.ModTime.Local().Format(time.DateTime), was.ModTime.Local().Format(time.DateTime))
	}
	what += "; " + o.storedBatchesStill()
	return &InputChangedError{JobID: o.jobID, Path: o.set.Input, What: what, Stored: o.m.Upload.AckedRecords}
}

// storedBatchesStill re-reads the batches the job already holds from the
// changed input and says whether they are the same.
func (o *op) storedBatchesStill() string {
	u := o.m.Upload
	if u.AckedBelow == 0 && len(u.Acked) == 0 {
		return "no batch of it was stored yet"
	}
	cfg, err := o.chunkConfig()
	if err != nil {
		return "the stored batches could not be re-read"
	}
	c, err := chunker.Open(o.set.Input, cfg)
	if err != nil {
		return "the stored batches could not be re-read"
	}
	defer c.Close()
	acked := map[int]string{}
	last := u.AckedBelow - 1
	for _, b := range u.Acked {
		acked[b.Seq] = b.Hash
		last = max(last, b.Seq)
	}
	var chain []byte
	for {
		b, err := c.Next()
		if err == io.EOF {
			return fmt.Sprintf("it now ends before batch %d, which the job holds", last+1)
		}
		if err != nil {
			return fmt.Sprintf("re-reading it fails at batch %d: %v", b.Seq+1, err)
		}
		h := b.Hash()
		if b.Seq < u.AckedBelow {
			s := sha256.New()
			s.Write(chain)
			s.Write(h[:])
			chain = s.Sum(nil)
			if b.Seq == u.AckedBelow-1 && hex.EncodeToString(chain) != u.PrefixDigest {
				return fmt.Sprintf("the first %d batches, which the job holds, differ (lines 1-%d)", u.AckedBelow, b.LastLine)
			}
		} else if want, ok := acked[b.Seq]; ok && want != "" && want != hex.EncodeToString(h[:]) {
			return fmt.Sprintf("batch %d (lines %d-%d), which the job holds, differs", b.Seq+1, b.FirstLine, b.LastLine)
		}
		if b.Seq >= last {
			return fmt.Sprintf("the %d batches the job holds read the same (records were added or changed after line %d)", u.AckedBelow+len(u.Acked), b.LastLine)
		}
	}
}

// resumeUploads continues a job filled by Upload calls only: each upload
// not finished, then ready and results, with a run manifest for those.
func (o *op) resumeUploads(ctx context.Context, stateDir string, opts ResumeOptions) error {
	saved, err := SavedLoads(stateDir, o.jobID)
	if err != nil {
		return err
	}
	var uploads []Saved
	for _, s := range saved {
		if s.Manifest.Run != nil && s.Manifest.Run.Command == "upload" {
			uploads = append(uploads, s)
		}
	}
	if len(uploads) == 0 {
		return fmt.Errorf("no saved load of job %d in %s: only loads started with a state directory (not standard input) can be resumed", o.jobID, stateDir)
	}
	job, err := o.getJob(ctx)
	if err != nil {
		return err
	}
	var total int64
	for _, s := range uploads {
		if err := o.sameJob(s.Manifest, s.Dir); err != nil {
			return err
		}
		if !s.Manifest.Upload.Complete {
			if job.State != api.StateOpen {
				return fmt.Errorf("job %d is %s: it takes no more job data, and the saved upload of %s is not complete", o.jobID, job.State, s.Manifest.Run.Input)
			}
			sub := &op{l: o.l, client: o.client, start: time.Now(), set: *s.Manifest.Run, jobID: o.jobID, job: job,
				m: s.Manifest, dir: s.Dir, rep: Report{Command: "upload"}}
			sub.override(ResumeOptions{Workers: opts.Workers})
			sub.reader = &Input{Path: sub.set.Input}
			if err := sub.sameInput(""); err != nil {
				return err
			}
			if err := sub.checkInput(ctx); err != nil {
				return err
			}
			o.mu.Lock()
			o.chk, o.check, o.checked = sub.chk, sub.check, sub.checked
			o.mu.Unlock()
			err := sub.upload(ctx)
			o.mu.Lock()
			o.up = sub.up
			o.mu.Unlock()
			o.rep.Rejected += sub.rep.Rejected
			o.rep.Bytes += sub.rep.Bytes
			if err != nil {
				return err
			}
			sub.set.Finished = true
			if err := sub.save(); err != nil {
				return err
			}
			s.Manifest = sub.m
		}
		total += s.Manifest.Upload.AckedRecords
	}
	o.set = *uploads[0].Manifest.Run
	o.set.Command, o.set.Input, o.set.Ready, o.set.Finished = "run", "", false, false
	o.set.ResultsPrefix, o.set.SuccessOffset, o.set.ErrorsOffset = "", 0, 0
	o.set.JobCreatedAt = createdAt(job)
	o.override(opts)
	o.reader = &Input{Path: fmt.Sprintf("the uploads of job %d", o.jobID)}
	o.rep.Records, o.rep.Uploaded = total, total
	o.dir = runDir(stateDir, o.jobID)
	o.m = &manifest.Manifest{JobID: o.jobID, JobType: job.Type}
	o.m.Upload.Complete, o.m.Upload.AckedRecords = true, total
	if err := o.save(); err != nil {
		return err
	}
	return o.rest(ctx)
}
