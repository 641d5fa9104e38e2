package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bulkload/bulkload/chunker"
	"golang.org/x/term"
)

// checkInput reads the whole input once before any API call: it proves
// every record valid (or counts the rejects) so that a bad file fails
// before a job exists, and it gives the totals progress and ETA need.
// Standard input can be read only once, so it is checked while uploading;
// only its first batch is read before the job is created.
func (p *plan) checkInput(ctx context.Context) error {
	if p.input == "-" {
		if p.o.dryRun {
			return p.scan(ctx, p.a.env.Stdin, true)
		}
		return p.primeStdin()
	}
	st, err := os.Stat(p.input)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("input %s is a directory, not a file", p.input)
	}
	if err := p.scan(ctx, nil, true); err != nil {
		return err
	}
	switch {
	case p.check.Records == 0 && p.check.Rejects == 0:
		// Most likely the wrong file: say so rather than create an empty job.
		return fmt.Errorf("%s holds no records: nothing to load", p.input)
	case p.check.Records == 0:
		return fmt.Errorf("%s holds no valid records: all %d were rejected", p.input, p.check.Rejects)
	}
	return nil
}

// scan chunks the whole input, counting, and writes the rejects file.
func (p *plan) scan(ctx context.Context, r io.Reader, writeRejects bool) error {
	cfg, err := p.chunkConfig()
	if err != nil {
		return err
	}
	rej := &rejectFile{path: p.rejectsPath()}
	if writeRejects {
		cfg.OnReject = rej.add
	}
	var c *chunker.Chunker
	if r != nil {
		c, err = chunker.New(r, cfg)
	} else {
		c, err = chunker.Open(p.input, cfg)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	prog := startProgress(p.a.env.Stderr, p.a.progressOn(), func() string {
		s := c.Stats()
		el := time.Since(p.start)
		return fmt.Sprintf("checking %s: %d records, %d rejected, %s read, %s/s", cfg.Source, s.Records, s.Rejects,
			humanBytes(s.Bytes), humanBytes(int64(float64(s.Bytes)/max(el.Seconds(), 1e-3))))
	})
	for {
		if err = ctx.Err(); err != nil {
			break
		}
		var b chunker.Batch
		b, err = c.Next()
		if err != nil {
			break
		}
		p.sum.Bytes += int64(len(b.Body))
	}
	prog.stop()
	if cerr := rej.close(); cerr != nil && (err == nil || err == io.EOF) {
		err = cerr
	}
	p.check = c.Stats()
	p.checked = true
	p.sum.Records, p.sum.Batches, p.sum.Rejected = p.check.Records, p.check.Batches, p.check.Rejects
	if rej.n > 0 {
		p.sum.Files.Rejects = rej.path
	}
	if err == io.EOF {
		return nil
	}
	return err
}

// rejectsPath names the rejects file: <job id>-rejects.jsonl once the job
// is known. The check pass runs before the job exists, so a new run writes
// a temporary name and renames it when the job is created.
func (p *plan) rejectsPath() string {
	switch {
	case p.jobID != 0:
		return filepath.Join(p.o.resultsDir, fmt.Sprintf("%d-rejects.jsonl", p.jobID))
	case p.o.dryRun:
		return filepath.Join(p.o.resultsDir, "dry-run-rejects.jsonl")
	}
	return filepath.Join(p.o.resultsDir, fmt.Sprintf(".bulkload-rejects-%d.jsonl", os.Getpid()))
}

// primeStdin opens standard input and reads its first batch, so that an
// empty input, or one whose first record is bad (most often the wrong
// format), fails before a job exists rather than leaving an empty job.
// upload goes on from that batch.
func (p *plan) primeStdin() error {
	cfg, err := p.chunkConfig()
	if err != nil {
		return err
	}
	if f, ok := p.a.env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		// Not a pipe: say what it waits for rather than seem to hang.
		p.a.info("Reading records from the terminal; end with Ctrl-D (or pass a file instead of -).\n")
	}
	rej := &rejectFile{path: p.rejectsPath()}
	cfg.OnReject = rej.add
	c, err := chunker.New(p.a.env.Stdin, cfg)
	if err != nil {
		return err
	}
	b, err := c.Next()
	if err == nil {
		p.stdin, p.first, p.stdinRej = c, &b, rej
		return nil
	}
	// The input ends (or fails) within its first batch: nothing is uploaded.
	c.Close()
	if cerr := rej.close(); cerr != nil && (err == nil || err == io.EOF) {
		err = cerr
	}
	s := c.Stats()
	p.sum.Records, p.sum.Rejected = s.Records, s.Rejects
	if rej.n > 0 {
		p.sum.Files.Rejects = rej.path
	}
	switch {
	case err != io.EOF:
		return err
	case s.Records == 0 && s.Rejects == 0:
		return errors.New("standard input holds no records: nothing to load")
	default:
		return fmt.Errorf("standard input holds no valid records: all %d were rejected", s.Rejects)
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
