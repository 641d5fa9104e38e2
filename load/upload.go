package load

import (
	"context"
	"fmt"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/uploader"
)

// upload stores every batch of the input in the job, exactly once.
func (o *op) upload(ctx context.Context) error {
	if o.m != nil && o.m.Upload.Complete {
		o.rep.Uploaded = o.m.Upload.AckedRecords
		return nil
	}
	o.setPhase(PhaseUpload)
	cfg, err := o.chunkConfig()
	if err != nil {
		return err
	}
	var rej *rejectFile
	var c *chunker.Chunker
	var src uploader.Source
	if o.stdinInput() {
		// primeStdin opened it and read the first batch.
		c, rej = o.stdin, o.stdinRej
		src = &primed{first: o.first, c: c}
	} else {
		c, err = chunker.Open(o.set.Input, cfg) // rejects were written by the check pass
		if err != nil {
			return err
		}
		src = c
	}
	defer c.Close()
	idx, err := o.openIndex()
	if err != nil {
		return err
	}
	if idx != nil {
		defer idx.Close()
		src = &indexing{src: src, idx: idx, file: o.indexFile()}
	}
	var created *api.Job
	if o.fresh && o.job.ID == o.jobID {
		j := o.job
		created = &j // open, total 0: the uploader need not read it again
	}
	up, err := uploader.New(uploader.Config{
		Client:   o.client,
		Job:      created,
		Workers:  o.workers(),
		Manifest: o.m,
		StateDir: o.dir,
		Logger:   o.l.cfg.Logger,

		ResendUnresolvable: o.l.cfg.ResendUnresolvable,
	})
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.up = up
	o.mu.Unlock()
	_, err = up.Upload(ctx, o.jobID, src)
	if rej != nil {
		if cerr := rej.close(); cerr != nil && err == nil {
			err = cerr
		}
		o.rep.Rejected = c.Stats().Rejects
		if rej.n > 0 {
			o.rep.Files.Rejects = rej.path
		}
	}
	if !o.checked {
		s := c.Stats()
		o.rep.Records, o.rep.Batches = s.Records, s.Batches
		o.rep.Bytes = up.Stats().Bytes // stdin is never resumed: this load stored them all
	}
	if m := up.Manifest(); m != nil && o.m != nil {
		m.Run = o.m.Run
		o.m = m
	}
	if o.m != nil {
		o.rep.Uploaded = o.m.Upload.AckedRecords
	} else {
		st := up.Stats()
		o.rep.Uploaded = st.Records + st.SkippedRecords
	}
	if err != nil {
		return fmt.Errorf("uploading %s into job %d: %w", o.source(), o.jobID, err)
	}
	if idx != nil {
		// Every batch is stored, and so indexed: results can be tied.
		if err := idx.Seal(); err != nil {
			o.l.warn("result lines: %v; the results will be written without their input lines", err)
		}
	}
	return nil
}
