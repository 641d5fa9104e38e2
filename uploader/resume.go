package uploader

import (
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/bulkload/bulkload/manifest"
)

// resume settles the batches an earlier run may have sent without learning
// their fate: every batch below SentBelow that the manifest does not record
// as stored. It reads the Source up to the last of them (skipping stored
// batches, keeping the bodies of the Recent ones), reconciles them in one
// round before anything new is sent, and returns those to send again.
func (r *run) resume(src Source, up manifest.Upload) ([]*pending, error) {
	doubt := map[int]bool{}
	last := -1
	for s := up.AckedBelow; s < up.SentBelow; s++ {
		if !up.IsAcked(s) {
			doubt[s] = true
			last = s
		}
	}
	defer func() { r.verify.recent, r.verify.keep = nil, nil }()
	if len(doubt) == 0 {
		return nil, nil
	}
	recent := map[int]bool{}
	for _, s := range up.Recent {
		recent[s] = true
		last = max(last, s)
	}
	var doubts, queue []*pending
	for {
		var none []*pending
		b, err := r.next(src, &none)
		if err == io.EOF {
			break // batches reserved beyond the end were never sent
		}
		if err != nil {
			return nil, err
		}
		switch {
		case b == nil: // stored already
		case doubt[b.Seq]:
			doubts = append(doubts, b)
		default:
			queue = append(queue, b)
		}
		if r.verify.last >= last {
			break
		}
	}
	// next reports stored batches as nil; the verifier kept the bodies of
	// the Recent ones.
	stored := r.verify.kept(recent)
	if len(doubts) == 0 {
		return queue, nil
	}
	r.log(slog.LevelInfo, "reconciling the uploads an earlier run left in doubt", "doubts", seqsOf(doubts))
	verdict, err := r.reconcile(doubts, stored, false)
	if err != nil {
		return nil, fmt.Errorf("uploader: reconciling what the previous run left in doubt: %w", err)
	}
	resend := make([]*pending, 0, len(doubts)+len(queue))
	for _, d := range doubts {
		if verdict[d] {
			r.skipped(d, true)
		} else {
			resend = append(resend, d)
		}
	}
	if err := r.cp.commit(); err != nil {
		return nil, fmt.Errorf("uploader: saving the manifest: %w", err)
	}
	return append(resend, queue...), nil
}

// A verifier checks the batches a resumed upload re-reads against the
// manifest: the stored prefix by its chained digest, other recorded batches
// by hash. It keeps the bodies of the stored batches that reconciliation
// may need (Upload.Recent).
type verifier struct {
	up      manifest.Upload
	hashes  map[int]string // recorded hashes beyond the prefix
	recent  map[int]bool
	keep    []*pending
	chain   []byte
	last    int // Seq of the last batch read
	batches int // batches read
}

func newVerifier(up manifest.Upload) verifier {
	v := verifier{up: up, hashes: map[int]string{}, recent: map[int]bool{}}
	for _, b := range slices.Concat(up.Acked, up.Sent) {
		v.hashes[b.Seq] = b.Hash
	}
	for _, s := range up.Recent {
		v.recent[s] = true
	}
	return v
}

// check verifies b and reports whether it is stored already.
func (v *verifier) check(b *pending) (stored bool, err error) {
	if v.batches > 0 && b.Seq != v.last+1 {
		return false, fmt.Errorf("uploader: the input yields batch %d after batch %d", b.Seq, v.last)
	}
	v.batches++
	v.last = b.Seq
	changed := func(what string) error {
		return fmt.Errorf("uploader: %w: batch %d (lines %d-%d) %s; the input or the chunking changed since the manifest was written",
			ErrManifestMismatch, b.Seq, b.FirstLine, b.LastLine, what)
	}
	if v.recent[b.Seq] {
		v.keep = append(v.keep, b)
	}
	if b.Seq < v.up.AckedBelow {
		v.chain = chain(v.chain, b.hash)
		if b.Seq == v.up.AckedBelow-1 && hex.EncodeToString(v.chain) != v.up.PrefixDigest {
			return false, changed("ends a run of batches that differs from the one stored")
		}
		return true, nil
	}
	want, recorded := v.hashes[b.Seq]
	if recorded && want != "" && want != hex.EncodeToString(b.hash[:]) {
		return false, changed("differs from the batch the manifest records")
	}
	return v.up.IsAcked(b.Seq), nil
}

// kept returns the kept batches whose Seq is in seqs.
func (v *verifier) kept(seqs map[int]bool) []*pending {
	var out []*pending
	for _, b := range v.keep {
		if seqs[b.Seq] {
			out = append(out, b)
		}
	}
	v.keep = nil
	return out
}

// atEOF checks that the input did not end before a batch the manifest
// records as stored.
func (v *verifier) atEOF() error {
	if v.up.PrefixDigest == "" && len(v.up.Acked) == 0 {
		return nil
	}
	need := v.up.AckedBelow - 1
	for _, b := range v.up.Acked {
		need = max(need, b.Seq)
	}
	if v.batches == 0 || v.last < need {
		return fmt.Errorf("uploader: %w: the input ends before batch %d, which the manifest records as stored",
			ErrManifestMismatch, need)
	}
	return nil
}
