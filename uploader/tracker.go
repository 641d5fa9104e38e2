package uploader

import (
	"context"
	"sync"
)

// A tracker orders the upload attempts of one Upload. It numbers every
// attempt (g), knows which are in flight, holds the attempts in doubt of the
// current round and pauses new attempts until the round is reconciled, keeps
// the bodies of stored batches whose storage order is not yet settled
// (retained), and holds back a new attempt while the oldest unresolved one
// is more than gate attempts old, which bounds both the doubt window and the
// retained bodies. It is safe for concurrent use.
type tracker struct {
	gate int // see above; >= 1

	mu       sync.Mutex
	lastG    int64              // number of the latest attempt begun
	inflight map[int64]*attempt // begun and not ended
	round    *round             // the open round, or nil
	retained []retainedBatch    // stored batches that may be in a doubt window
	changed  chan struct{}      // closed and replaced when begin's conditions may have changed
}

// An attempt is one POST of one batch.
type attempt struct {
	g     int64
	batch *pending
}

// A retainedBatch is a stored batch kept until every attempt that was
// unresolved when it was stored (all with g <= until) is resolved.
type retainedBatch struct {
	batch *pending
	until int64
}

// A round collects the attempts in doubt that one reconciliation settles.
// New attempts wait while a round is open. quiet is closed when no attempt
// is in flight any more; done when the reconciliation has finished, after
// which stored and err hold its verdict.
type round struct {
	doubts []*attempt
	quiet  chan struct{}
	done   chan struct{}
	stored map[*pending]bool
	err    error
}

func newTracker(gate int) *tracker {
	return &tracker{gate: max(gate, 1), inflight: map[int64]*attempt{}, changed: make(chan struct{})}
}

// begin waits until a new attempt may start and registers it: no round is
// open and the oldest unresolved attempt is at most gate attempts old. It
// returns ctx's error if ctx ends first.
func (t *tracker) begin(ctx context.Context, b *pending) (*attempt, error) {
	for {
		t.mu.Lock()
		if t.round == nil && t.lastG+1-t.minUnresolvedLocked() <= int64(t.gate) {
			t.lastG++
			a := &attempt{g: t.lastG, batch: b}
			t.inflight[a.g] = a
			t.mu.Unlock()
			return a, nil
		}
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

// minUnresolvedLocked is the lowest attempt number still in flight or in
// doubt; lastG+1 when there is none. Called with mu held.
func (t *tracker) minUnresolvedLocked() int64 {
	m := t.lastG + 1
	for g := range t.inflight {
		m = min(m, g)
	}
	if t.round != nil {
		for _, a := range t.round.doubts {
			m = min(m, a.g)
		}
	}
	return m
}

// stored ends a that stored its batch; the batch is retained if another
// attempt is unresolved, since a doubt among those may be reconciled later.
func (t *tracker) stored(a *attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inflight, a.g)
	if t.minUnresolvedLocked() <= t.lastG {
		t.retained = append(t.retained, retainedBatch{batch: a.batch, until: t.lastG})
	}
	t.settleLocked()
}

// failed ends a that stored nothing (a definite refusal, or a failure
// before the request was sent).
func (t *tracker) failed(a *attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inflight, a.g)
	t.settleLocked()
}

// settleLocked releases retained batches nobody can need any more, closes
// the round's quiet channel once nothing is in flight, and wakes begin.
func (t *tracker) settleLocked() {
	low := t.minUnresolvedLocked()
	keep := t.retained[:0]
	for _, r := range t.retained {
		if r.until >= low {
			keep = append(keep, r)
		}
	}
	clear(t.retained[len(keep):])
	t.retained = keep
	if t.round != nil && len(t.inflight) == 0 {
		select {
		case <-t.round.quiet:
		default:
			close(t.round.quiet)
		}
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// doubt ends a whose outcome is unknown and adds it to the open round,
// opening one if needed. It returns the round and whether the caller leads
// it: the leader waits for quiet, reconciles and calls closeRound; the
// others wait for done.
func (t *tracker) doubt(a *attempt) (r *round, leader bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inflight, a.g)
	if t.round == nil {
		t.round = &round{quiet: make(chan struct{}), done: make(chan struct{})}
		leader = true
	}
	t.round.doubts = append(t.round.doubts, a)
	r = t.round
	t.settleLocked()
	return r, leader
}

// window returns the batches whose records may lie after the first record
// of any batch in doubt in r: the doubts and the retained stored batches.
// Call it once r is quiet.
func (t *tracker) window(r *round) (doubts, stored []*pending) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range r.doubts {
		doubts = append(doubts, a.batch)
	}
	for _, rb := range t.retained {
		stored = append(stored, rb.batch)
	}
	return doubts, stored
}

// closeRound records the verdict, ends r and lets new attempts begin.
func (t *tracker) closeRound(r *round, stored map[*pending]bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.stored, r.err = stored, err
	t.round = nil
	t.settleLocked()
	close(r.done)
}

// retainedSeqs lists the Seqs of the retained batches, for the manifest.
func (t *tracker) retainedSeqs() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	seqs := make([]int, 0, len(t.retained))
	for _, r := range t.retained {
		seqs = append(seqs, r.batch.Seq)
	}
	return seqs
}
