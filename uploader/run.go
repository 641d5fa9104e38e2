package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
	"golang.org/x/sync/errgroup"
)

// A run is the state of one Upload call.
//
// Goroutines: Upload's own goroutine reads the Source and dispatches; an
// errgroup limited to Workers runs one goroutine per batch, which lives
// until the batch is stored or has failed (the goroutine that first finds a
// batch in doubt also runs that round's reconciliation); drainContext runs
// one timer goroutine. Upload waits for all of them before it returns.
type run struct {
	u      *Uploader
	jobID  int64
	cp     *checkpoint
	tr     *tracker
	stats  *counters
	stop   context.Context // ends on the caller's cancel or the first failure
	cancel context.CancelCauseFunc
	calls  context.Context // for API calls: ends DrainTimeout after stop
	verify verifier        // used by the dispatching goroutine only
	eof    bool            // the Source said io.EOF
}

// pending is a batch on its way to the job.
type pending struct {
	Batch
	hash     [32]byte // Batch.Hash()
	attempts int      // POSTs begun; touched by the batch's goroutine only
	digests  []digest // its records' digests, computed by reconciliation
}

// recordDigests returns (and keeps) the digests of b's records. Only the
// leader of a round calls it, and rounds run one at a time.
func (b *pending) recordDigests() ([]digest, error) {
	if b.digests == nil {
		ds, err := recordDigests(b.Body)
		if err != nil {
			return nil, err
		}
		b.digests = ds
	}
	return b.digests, nil
}

func (r *run) upload(src Source) error {
	job, known := api.Job{}, r.u.known
	r.u.known = nil
	if known != nil && known.ID == r.jobID {
		job = *known // just created: its state and total are known
	} else {
		var err error
		if job, err = r.getJob(r.stop); err != nil {
			return fmt.Errorf("uploader: job %d: %w", r.jobID, err)
		}
	}
	up := r.cp.upload()
	if up.Complete {
		return nil
	}
	if job.State != api.StateOpen {
		return fmt.Errorf("uploader: %w: job %d is %s", ErrJobNotOpen, r.jobID, job.State)
	}
	if !up.Started {
		r.cp.start(job.Total)
		if err := r.cp.commit(); err != nil {
			return fmt.Errorf("uploader: saving the manifest: %w", err)
		}
	}
	r.verify = newVerifier(up)
	queue, err := r.resume(src, up)
	if err != nil {
		return err
	}
	r.dispatch(src, queue)
	if err := context.Cause(r.stop); err != nil {
		return err
	}
	return r.finish()
}

// dispatch hands batches to the workers until the Source ends, the caller
// cancels or a batch fails. The errgroup's limit is the back-pressure: the
// dispatcher holds one batch while Workers are being sent.
func (r *run) dispatch(src Source, queue []*pending) {
	var g errgroup.Group
	g.SetLimit(r.u.workers)
	defer g.Wait()
	for r.stop.Err() == nil {
		b, err := r.next(src, &queue)
		if err == io.EOF {
			return
		}
		if err != nil {
			r.fail(err)
			return
		}
		if b == nil {
			continue // stored by an earlier run
		}
		if r.cp.willSend(b, r.u.workers+1) {
			if err := r.cp.commit(); err != nil {
				r.fail(fmt.Errorf("uploader: saving the manifest: %w", err))
				return
			}
		}
		g.Go(func() error {
			if err := r.send(b); err != nil {
				r.fail(err)
			}
			return nil
		})
	}
}

// next returns the next batch to send: queued ones first, then the
// Source's. It returns nil for a batch an earlier run stored.
func (r *run) next(src Source, queue *[]*pending) (*pending, error) {
	if len(*queue) > 0 {
		b := (*queue)[0]
		*queue = (*queue)[1:]
		return b, nil
	}
	if r.eof {
		return nil, io.EOF
	}
	cb, err := src.Next()
	if err == io.EOF {
		r.eof = true
		if err := r.verify.atEOF(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("uploader: reading the input: %w", err)
	}
	b := &pending{Batch: cb, hash: cb.Hash()}
	r.cp.seen(b.Seq)
	skip, err := r.verify.check(b)
	if err != nil {
		return nil, err
	}
	if skip {
		r.skipped(b, false)
		return nil, nil
	}
	return b, nil
}

// send stores b, retrying as the policy allows; see the package doc.
func (r *run) send(b *pending) error {
	reconciled := false
	err := r.u.retry.Do(r.stop, func(ctx context.Context, _ int) error {
		a, err := r.tr.begin(ctx, b)
		if err != nil {
			return budget.Permanent(err)
		}
		if b.attempts++; b.attempts > 1 {
			r.stats.retries.Add(1)
		}
		n, _, err := r.u.client.CreateJobData(r.calls, r.jobID, b.Body)
		r.countCall(err, false)
		switch {
		case err == nil:
			// Into the checkpoint before the tracker ends the attempt, so
			// a reconciliation never counts the job without it.
			r.cp.ack(b)
			r.tr.stored(a)
			if n != b.Records {
				return budget.Permanent(fmt.Errorf("%w: the API says it created %d records of the %d sent",
					ErrForeignWrites, n, b.Records))
			}
			return nil
		case api.IsAmbiguous(err):
			r.stats.inDoubt.Add(1)
			r.log(slog.LevelDebug, "upload in doubt", "seq", b.Seq, "error", err)
			stored, rerr := r.inDoubt(a)
			if rerr != nil {
				return budget.Permanent(rerr)
			}
			if stored {
				reconciled = true
				return nil
			}
			return err // not stored: retried if the failure is retryable
		default:
			r.tr.failed(a)
			var ae *api.Error
			switch {
			case api.IsJobNotOpen(err):
				return budget.Permanent(fmt.Errorf("%w: %w", ErrJobNotOpen, err))
			case errors.As(err, &ae) && ae.StatusCode >= 400 && ae.StatusCode < 500 && !api.IsRetryable(err):
				return budget.Permanent(fmt.Errorf("%w: %w", ErrBatchRejected, err))
			}
			return err
		}
	})
	if err != nil {
		var ae *budget.AttemptsError
		if errors.As(err, &ae) {
			err = ae.Err
		}
		return &BatchError{Seq: b.Seq, FirstLine: b.FirstLine, LastLine: b.LastLine, Attempts: b.attempts, Err: err}
	}
	return r.stored(b, reconciled)
}

// inDoubt adds a to the open round and returns the round's verdict on it.
// The first attempt of a round leads it: once nothing is in flight it
// reconciles every doubt of the round.
func (r *run) inDoubt(a *attempt) (bool, error) {
	rd, leader := r.tr.doubt(a)
	if leader {
		<-rd.quiet // calls in flight end by r.calls at the latest
		doubts, stored := r.tr.window(rd)
		verdict, err := r.reconcile(doubts, stored, true)
		if err == nil {
			err = r.cp.commit()
		}
		if err != nil {
			r.log(slog.LevelError, "reconciliation failed", "doubts", seqsOf(doubts), "error", err)
		}
		r.tr.closeRound(rd, verdict, err)
	} else {
		<-rd.done
	}
	if rd.err != nil {
		return false, rd.err
	}
	return rd.stored[a.batch], nil
}

// stored saves the manifest with b stored and reports b.
func (r *run) stored(b *pending, reconciled bool) error {
	if err := r.cp.commit(); err != nil {
		return fmt.Errorf("uploader: saving the manifest: %w", err)
	}
	r.stats.batches.Add(1)
	r.stats.records.Add(int64(b.Records))
	r.stats.bytes.Add(int64(len(b.Body)))
	r.report(b, reconciled, false)
	return nil
}

func (r *run) skipped(b *pending, reconciled bool) {
	r.stats.skipped.Add(1)
	r.stats.skippedRecords.Add(int64(b.Records))
	r.report(b, reconciled, true)
}

func (r *run) report(b *pending, reconciled, skipped bool) {
	if r.u.onBatch == nil {
		return
	}
	r.u.onBatch(BatchResult{Seq: b.Seq, Records: b.Records, Bytes: len(b.Body), FirstLine: b.FirstLine,
		LastLine: b.LastLine, Attempts: b.attempts, Reconciled: reconciled, Skipped: skipped})
}

// finish checks that the job holds exactly what the manifest accounts for
// and marks the upload complete.
func (r *run) finish() error {
	job, err := r.getJob(r.calls)
	if err != nil {
		return fmt.Errorf("uploader: checking job %d: %w", r.jobID, err)
	}
	if known := r.cp.known(); job.Total != known {
		return fmt.Errorf("uploader: %w: job %d holds %d records, but %d were there before or stored by this upload",
			ErrForeignWrites, r.jobID, job.Total, known)
	}
	r.cp.complete(r.verify.batches)
	return nil
}

// fail stops the upload with err, unless it is already stopping.
func (r *run) fail(err error) {
	if r.stop.Err() == nil {
		r.log(slog.LevelError, "upload failed", "error", err)
	}
	r.cancel(err)
}

func (r *run) countCall(err error, reconciling bool) {
	r.stats.calls.Add(1)
	if reconciling {
		r.stats.recCalls.Add(1)
	}
	if api.IsRateLimited(err) {
		r.stats.rateLimited.Add(1)
	}
}

func (r *run) log(level slog.Level, msg string, args ...any) {
	if r.u.logger != nil {
		r.u.logger.Log(r.calls, level, msg, append([]any{"job", r.jobID}, args...)...)
	}
}
