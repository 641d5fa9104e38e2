package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/manifest"
)

// chunkConfig is the chunker's configuration for this op; the manifest's
// Chunking records the part that decides the batches.
func (o *op) chunkConfig() (chunker.Config, error) {
	cfg := chunker.Config{Source: o.source(), MaxRecords: o.set.BatchSize, MaxRejects: o.set.MaxRejects,
		Encoding: o.set.Encoding, UpsertKey: o.set.UpsertKey, Type: o.set.Type, RecordLines: o.joins(),
		OnWarning: o.chunkWarning}
	if d := []rune(o.set.Delimiter); len(d) == 1 {
		cfg.Delimiter = d[0]
	}
	for _, e := range o.set.Map {
		cfg.Map = append(cfg.Map, chunker.MapEntry(e))
	}
	if o.set.Format != "" {
		f, err := chunker.ParseFormat(o.set.Format)
		if err != nil {
			return cfg, err
		}
		cfg.Format = f
	}
	return cfg, nil
}

// chunking is what decides the batches, as the manifest keeps it.
func (o *op) chunking() manifest.Chunking {
	opts := map[string]string{"format": o.set.Format, "max_rejects": strconv.Itoa(o.set.MaxRejects)}
	// Settings that change the batches; absent when unset, so that a run
	// saved before they existed still resumes.
	for k, v := range map[string]string{"delimiter": o.set.Delimiter, "encoding": o.set.Encoding,
		"upsert_key": o.set.UpsertKey, "type": o.set.Type, "map": mapString(o.set.Map)} {
		if v != "" {
			opts[k] = v
		}
	}
	return manifest.Chunking{MaxRecords: o.set.BatchSize, MaxBatchBytes: chunker.DefaultMaxBatchBytes, Options: opts}
}

// checkInput reads the whole input once before any API call: it proves
// every record valid (or counts the rejects) so that a bad file fails
// before a job exists, and it gives the totals progress and ETA need.
// Standard input can be read only once, so it is checked while uploading;
// only its first batch is read before the job is created.
func (o *op) checkInput(ctx context.Context) error {
	o.setPhase(PhaseCheck)
	if o.stdinInput() {
		if o.dryRun {
			return o.scan(ctx, o.reader.Reader)
		}
		return o.primeStdin()
	}
	if err := o.statInput(); err != nil {
		return err
	}
	if err := o.scan(ctx, nil); err != nil {
		return err
	}
	switch {
	case o.check.Records == 0 && o.check.Rejects == 0:
		// Most likely the wrong file: say so rather than create an empty job.
		return fmt.Errorf("%s holds no records: %w", o.set.Input, ErrNothingToLoad)
	case o.check.Records == 0:
		return &noValidError{fmt.Sprintf("%s holds no valid records: all %d were rejected", o.set.Input, o.check.Rejects)}
	}
	return nil
}

// ErrNothingToLoad is wrapped by the error of a load whose input holds no
// valid record: no job is created for it.
var ErrNothingToLoad = errors.New("nothing to load")

// noValidError is an input whose every record was rejected.
type noValidError struct{ msg string }

func (e *noValidError) Error() string { return e.msg }
func (e *noValidError) Unwrap() error { return ErrNothingToLoad }

// statInput fails, with one clear line, for an input that is missing or
// is a directory.
func (o *op) statInput() error {
	st, err := os.Stat(o.set.Input)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("input %s is a directory, not a file", o.set.Input)
	}
	return nil
}

// scan chunks the whole input, counting, and writes the rejects file.
func (o *op) scan(ctx context.Context, r io.Reader) error {
	cfg, err := o.chunkConfig()
	if err != nil {
		return err
	}
	rej := &rejectFile{path: o.rejectsPath()}
	cfg.OnReject = rej.add
	// A dry run reads the whole input whatever MaxRejects says, to count
	// everything, and then fails as a real run would have.
	var wouldFail error
	if o.dryRun && cfg.MaxRejects >= 0 {
		limit, n := cfg.MaxRejects, 0
		cfg.MaxRejects = -1
		cfg.OnReject = func(r chunker.Reject) {
			rej.add(r)
			if n++; n == limit+1 && wouldFail == nil {
				wouldFail = r.Err
				if limit > 0 {
					wouldFail = fmt.Errorf("%w (limit %d): %w", chunker.ErrTooManyRejects, limit, r.Err)
				}
			}
		}
	}
	var c *chunker.Chunker
	if r != nil {
		c, err = chunker.New(r, cfg)
	} else {
		c, err = chunker.Open(o.set.Input, cfg)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	rej.c = c
	o.mu.Lock()
	o.chk = c
	o.mu.Unlock()
	var bytes int64
	for {
		if err = ctx.Err(); err != nil {
			break
		}
		var b chunker.Batch
		b, err = c.Next()
		if err != nil {
			break
		}
		bytes += int64(len(b.Body))
	}
	if cerr := rej.close(); cerr != nil && (err == nil || err == io.EOF) {
		err = cerr
	}
	o.mu.Lock()
	o.check, o.checked = c.Stats(), err == io.EOF
	o.mu.Unlock()
	o.rep.Bytes = bytes
	o.rep.Records, o.rep.Batches, o.rep.Rejected = o.check.Records, o.check.Batches, o.check.Rejects
	o.set.Bytes, o.set.Rejected = bytes, o.check.Rejects
	if rej.n > 0 {
		o.rep.Files.Rejects = rej.path
	}
	if err == io.EOF {
		return wouldFail
	}
	return err
}

// primeStdin opens standard input and reads its first batch, so that an
// empty input, or one whose first record is bad (most often the wrong
// format), fails before a job exists rather than leaving an empty job.
// upload goes on from that batch.
func (o *op) primeStdin() error {
	cfg, err := o.chunkConfig()
	if err != nil {
		return err
	}
	rej := &rejectFile{path: o.rejectsPath()}
	cfg.OnReject = rej.add
	c, err := chunker.New(o.reader.Reader, cfg)
	if err != nil {
		return err
	}
	rej.c = c
	b, err := c.Next()
	if err == nil {
		o.stdin, o.first, o.stdinRej = c, &b, rej
		return nil
	}
	// The input ends (or fails) within its first batch: nothing is uploaded.
	c.Close()
	if cerr := rej.close(); cerr != nil && (err == nil || err == io.EOF) {
		err = cerr
	}
	s := c.Stats()
	o.rep.Records, o.rep.Rejected = s.Records, s.Rejects
	if rej.n > 0 {
		o.rep.Files.Rejects = rej.path
	}
	switch {
	case err != io.EOF:
		return err
	case s.Records == 0 && s.Rejects == 0:
		return fmt.Errorf("standard input holds no records: %w", ErrNothingToLoad)
	default:
		return &noValidError{fmt.Sprintf("standard input holds no valid records: all %d were rejected", s.Rejects)}
	}
}

// primed is a chunker whose first batch was already read.
type primed struct {
	first *chunker.Batch
	c     *chunker.Chunker
}

// Next returns the primed batch, then the chunker's.
func (s *primed) Next() (chunker.Batch, error) {
	if b := s.first; b != nil {
		s.first = nil
		return *b, nil
	}
	return s.c.Next()
}

// rejectsPath names the rejects file: <prefix>-rejects.jsonl once the
// job is known (see resultsPrefix). The check pass runs before the job
// exists, so a new load writes a temporary name and renames it when the
// job is created; a dry run writes <input name>-rejects.jsonl.
func (o *op) rejectsPath() string {
	ext := ".jsonl"
	if o.set.ResultsFormat == "csv" {
		ext = ".csv" // _line,_error and the row, as the input has it
	}
	switch {
	case o.jobID != 0:
		return filepath.Join(o.set.ResultsDir, o.resultsPrefix()+"-rejects"+ext)
	case o.dryRun:
		return filepath.Join(o.set.ResultsDir, inputStem(o.source())+"-rejects"+ext)
	}
	return filepath.Join(o.set.ResultsDir, fmt.Sprintf(".bulkload-rejects-%d%s", os.Getpid(), ext))
}

// inputStem is an input's file name without its extensions.
func inputStem(path string) string {
	base := filepath.Base(path)
	if path == "" || path == "-" {
		base = "stdin"
	}
	for ext := filepath.Ext(base); ext != ""; ext = filepath.Ext(base) {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

// keepRejects renames the rejects of a load that ended before a job
// existed from the check pass's temporary name to one a person finds.
func (o *op) keepRejects(tmp string) string {
	kept := filepath.Join(o.set.ResultsDir, inputStem(o.source())+"-rejects"+filepath.Ext(tmp))
	if os.Rename(tmp, kept) == nil {
		return kept
	}
	return tmp
}

// claimRejects moves the rejects written before the job existed to the
// job's rejects file. The job exists now and its manifest may not be
// saved yet: failing here would leave a job no resume can find, so a
// failed rename only keeps the old name, with a warning.
func (o *op) claimRejects() {
	final := o.rejectsPath()
	if r := o.stdinRej; r != nil {
		// Standard input's rejects file is still being written: rename it
		// open (or, if it has none yet, name the file it will create).
		if r.f == nil {
			r.path = final
		} else if err := os.Rename(r.path, final); err != nil {
			o.l.warn("rejects stay in %s: %v", r.path, err)
		} else {
			r.path = final
		}
	}
	if o.rep.Files.Rejects != "" {
		if err := os.Rename(o.rep.Files.Rejects, final); err != nil {
			o.l.warn("rejects stay in %s: %v", o.rep.Files.Rejects, err)
		} else {
			o.rep.Files.Rejects = final
		}
	}
}

// mapString renders a mapping for the manifest's check: one entry a line.
func mapString(m []manifest.MapEntry) string {
	var b strings.Builder
	for _, e := range m {
		fmt.Fprintf(&b, "%q=%q:%q\n", e.Column, e.Field, e.Value)
	}
	return b.String()
}

// chunkWarning passes on a chunker's warning once: the check pass and the
// upload read the input alike.
func (o *op) chunkWarning(w chunker.Warning) {
	if o.warned == nil {
		o.warned = map[string]bool{}
	}
	if msg := w.String(); !o.warned[msg] {
		o.warned[msg] = true
		o.l.warn("%s", msg)
	}
}
