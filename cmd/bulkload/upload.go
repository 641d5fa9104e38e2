package main

import (
	"context"
	"fmt"
	"time"

	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/uploader"
)

// upload stores every batch of the input in the job, exactly once.
func (p *plan) upload(ctx context.Context) error {
	if p.m != nil && p.m.Upload.Complete {
		p.sum.Uploaded = p.m.Upload.AckedRecords
		return nil
	}
	cfg, err := p.chunkConfig()
	if err != nil {
		return err
	}
	var rej *rejectFile
	var c *chunker.Chunker
	var src uploader.Source
	if p.input == "-" {
		// primeStdin opened it and read the first batch.
		c, rej = p.stdin, p.stdinRej
		src = &primed{first: p.first, c: c}
	} else {
		c, err = chunker.Open(p.input, cfg) // rejects were written by the check pass
		if err != nil {
			return err
		}
		src = c
	}
	defer c.Close()
	p.up, err = uploader.New(uploader.Config{
		Client:   p.client,
		Workers:  p.o.workers,
		Manifest: p.m,
		StateDir: p.dir,
		Logger:   p.a.logger(),

		ResendUnresolvable: p.o.resend,
	})
	if err != nil {
		return usageError{err}
	}
	prog := startProgress(p.a.env.Stderr, p.a.progressOn(), p.uploadLine)
	_, err = p.up.Upload(ctx, p.jobID, src)
	prog.stop()
	if rej != nil {
		if cerr := rej.close(); cerr != nil && err == nil {
			err = cerr
		}
		p.sum.Rejected = c.Stats().Rejects
		if rej.n > 0 {
			p.sum.Files.Rejects = rej.path
		}
	}
	if !p.checked {
		s := c.Stats()
		p.sum.Records, p.sum.Batches = s.Records, s.Batches
		p.sum.Bytes = p.up.Stats().Bytes // stdin is never resumed: this run stored them all
	}
	if m := p.up.Manifest(); m != nil && p.m != nil {
		p.m = m
	}
	if p.m != nil {
		p.sum.Uploaded = p.m.Upload.AckedRecords
	} else {
		st := p.up.Stats()
		p.sum.Uploaded = st.Records + st.SkippedRecords
	}
	if err != nil {
		return fmt.Errorf("uploading %s into job %d: %w", p.input, p.jobID, err)
	}
	return nil
}

func (p *plan) uploadLine() string {
	s := p.up.Stats()
	el := time.Since(p.start)
	done := s.Records + s.SkippedRecords
	line := fmt.Sprintf("uploading: %d", done)
	if p.checked && p.check.Records > 0 {
		line += fmt.Sprintf("/%d records (%d%%)", p.check.Records, done*100/p.check.Records)
	} else {
		line += " records"
	}
	line += fmt.Sprintf(" · %d batches · %s · %s", s.Batches+s.Skipped, humanBytes(s.Bytes), rate(s.Records, el))
	if p.checked {
		line += " · ETA " + eta(done, p.check.Records, el)
	}
	if b := p.bud.Stats(); b.Remaining >= 0 {
		line += fmt.Sprintf(" · budget %d left", b.Remaining)
	}
	return line
}
