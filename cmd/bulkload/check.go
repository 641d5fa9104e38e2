package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bulkload/bulkload/chunker"
)

// checkInput reads the whole input once before any API call: it proves
// every record valid (or counts the rejects) so that a bad file fails
// before a job exists, and it gives the totals progress and ETA need.
// Standard input can be read only once, so it is checked while uploading.
func (p *plan) checkInput(ctx context.Context) error {
	if p.input == "-" {
		if p.o.dryRun {
			return p.scan(ctx, p.a.env.Stdin, true)
		}
		return nil
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
