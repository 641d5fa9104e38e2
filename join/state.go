package join

import (
	"encoding/binary"
	"fmt"
)

// stateVersion is the first byte of a State.
const stateVersion = 1

// State returns the resolver's place in the results, to save with the
// poller's cursor (after the results up to it were resolved and written)
// and pass as ResolverConfig.State to resume. It is small: a run-length
// code of each batch's read count, a few bytes for the batches all read or
// not started, plus the counts of Stats.
func (r *Resolver) State() []byte {
	p := []byte{stateVersion}
	p = binary.AppendUvarint(p, uint64(len(r.batches)))
	p = binary.LittleEndian.AppendUint64(p, r.digest)
	var gaveUp, repeats int64
	if r.gaveUp {
		gaveUp = 1
	}
	if r.repeats {
		repeats = 1
	}
	for _, v := range []int64{r.stats.Results, r.stats.Lines, r.stats.Empty, r.stats.Ambiguous, r.stats.Unmatched, r.stats.GaveUp, gaveUp, repeats} {
		p = binary.AppendUvarint(p, uint64(v))
	}
	var run, last uint64
	for i, b := range r.order {
		c := r.code(b)
		if i > 0 && c != last {
			p = binary.AppendUvarint(binary.AppendUvarint(p, run), last)
			run = 0
		}
		run++
		last = c
	}
	if run > 0 {
		p = binary.AppendUvarint(binary.AppendUvarint(p, run), last)
	}
	return p
}

// code encodes a batch's state: 0 not started, 1 all read, else
// 2 + 2*cur + lost.
func (r *Resolver) code(b int32) uint64 {
	s := r.st[b]
	switch {
	case !s.lost && s.cur == 0:
		return 0
	case !s.lost && s.cur == r.batches[b].n:
		return 1
	}
	c := 2 + 2*uint64(s.cur)
	if s.lost {
		c++
	}
	return c
}

// restore reads a State into r.st and r.stats.
func (r *Resolver) restore(p []byte) error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrState, what) }
	if len(p) < 1 || p[0] != stateVersion {
		return bad("unknown version")
	}
	p = p[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	nb, ok := next()
	if !ok || nb != uint64(len(r.batches)) || len(p) < 8 || binary.LittleEndian.Uint64(p) != r.digest {
		return bad("another index")
	}
	p = p[8:]
	var gaveUp, repeats int64
	for _, v := range []*int64{&r.stats.Results, &r.stats.Lines, &r.stats.Empty, &r.stats.Ambiguous, &r.stats.Unmatched, &r.stats.GaveUp, &gaveUp, &repeats} {
		u, ok := next()
		if !ok {
			return bad("truncated")
		}
		*v = int64(u)
	}
	if (repeats != 0) != r.repeats {
		return bad("saved with another Repeats")
	}
	i := 0
	for len(p) > 0 {
		run, ok1 := next()
		c, ok2 := next()
		if !ok1 || !ok2 || run > uint64(len(r.order)-i) {
			return bad("corrupt")
		}
		for range run {
			b := r.order[i]
			n := r.batches[b].n
			var s bstate
			switch c {
			case 0:
			case 1:
				s.cur = n
			default:
				cur := (c - 2) / 2
				if cur > uint64(n) {
					return bad("a count past its batch")
				}
				s = bstate{cur: int32(cur), lost: c%2 == 1}
			}
			r.st[b] = s
			i++
		}
	}
	if i != len(r.order) {
		return bad("truncated")
	}
	r.gaveUp = gaveUp != 0
	return nil
}
