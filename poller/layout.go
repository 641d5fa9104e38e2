package poller

import (
	"cmp"
	"math"
	"slices"
)

// layout is what the poller knows, and predicts, of where a job's ids are
// when another job's uploads interleave with its own: the job's ids come in
// runs (one upload, or several in a row, each dense), with gaps of foreign
// ids between them. A gap is known once a page shows two consecutive rows
// of the job more than one id apart (or a page at a known row starts past
// the next id). Uploads are whole batches, usually of one size, so the next
// runs are predicted from the last ones (see add): a run as long as the
// typical complete run, or a multiple of it when a page shows the run going
// on (two batches in a row), then a gap as wide as the typical gap, and so
// on.
//
// Predictions only place pages; they never decide what is handed over (see
// the package doc). Not safe for concurrent use.
type layout struct {
	perPage int64
	// first is the job's first row, once a page at cursor 0 showed it; 0
	// while unknown.
	first int64
	// jumps are the known gaps, ascending; at most maxJumps, the highest.
	jumps []jump
	// run and gap are the predicted length of a run and width of a gap, in
	// ids; run is 0 while no complete run was seen.
	run, gap int64
	// refuted are predicted run ends that a page showed the run going on
	// past: the run is then predicted to end a run later.
	refuted []int64
	// lasts are the last rows of full pages that came back, ascending, at
	// most maxLasts: a page at one of those ids starts at a row of the job,
	// so a first row more than one id past it shows a gap.
	lasts []int64
	// pending are gaps shown by pages at a cursor not known to be a row of
	// the job: they are known once a page shows that cursor is one.
	pending []jump
}

// jump is a gap: last and next are consecutive rows of the job, more than
// one id apart.
type jump struct{ last, next int64 }

const (
	maxJumps = 8
	maxLasts = 64
	// maxRunsAhead bounds how many predicted runs a prediction walks.
	maxRunsAhead = 256
)

// learn takes in what a page at cursor after shows: its rows, ascending,
// all of the job and consecutive; atRow tells whether after is known to be
// a row of the job (the cursor, or a saved one).
func (l *layout) learn(after int64, atRow bool, ids []int64, full bool) {
	if len(ids) == 0 {
		return
	}
	if after == 0 && l.first == 0 {
		l.first = ids[0]
	}
	atRow = atRow && after > 0 || slices.Contains(l.lasts, after)
	switch {
	case ids[0] <= after+1:
	case atRow:
		l.add(jump{after, ids[0]})
	case after > 0:
		l.pending = append(l.pending, jump{after, ids[0]})
		if len(l.pending) > maxLasts {
			l.pending = slices.Delete(l.pending, 0, 1)
		}
	}
	prev := ids[0]
	for _, id := range ids[1:] {
		if id > prev+1 {
			l.add(jump{prev, id})
		} else {
			l.refute(prev)
		}
		prev = id
	}
	if ids[0] == after+1 && atRow {
		l.refute(after)
	}
	if !full {
		return
	}
	last := ids[len(ids)-1]
	if i, found := slices.BinarySearch(l.lasts, last); !found {
		l.lasts = slices.Insert(l.lasts, i, last)
		if len(l.lasts) > maxLasts {
			l.lasts = slices.Delete(l.lasts, 0, 1)
		}
	}
	// Gaps shown by pages at this page's last row.
	l.pending = slices.DeleteFunc(l.pending, func(j jump) bool {
		if j.last == last {
			l.add(j)
			return true
		}
		return false
	})
}

// refute notes that the run goes on past id: if a run was predicted to end
// there, it is predicted to end a run later.
func (l *layout) refute(id int64) {
	if l.run == 0 || slices.Contains(l.refuted, id) {
		return
	}
	if s := l.anchor(); id >= s && (id-s+1)%l.run == 0 {
		l.refuted = append(l.refuted, id)
	}
}

// add records a gap and predicts the next runs from the last ones: a run
// is the median of the last three complete runs (the least of two, when
// only two are known), so that one odd batch does not throw the
// predictions off, and a gap likewise.
func (l *layout) add(j jump) {
	i, found := slices.BinarySearchFunc(l.jumps, j.last, func(a jump, last int64) int { return cmp.Compare(a.last, last) })
	if found {
		return
	}
	l.jumps = slices.Insert(l.jumps, i, j)
	if len(l.jumps) > maxJumps {
		l.jumps = slices.Delete(l.jumps, 0, 1)
	}
	var runs, gaps []int64
	for k := len(l.jumps) - 1; k >= 0 && len(gaps) < 3; k-- {
		jk := l.jumps[k]
		gaps = append(gaps, jk.next-jk.last-1)
		switch {
		case k > 0:
			runs = append(runs, jk.last-l.jumps[k-1].next+1)
		case l.first > 0 && l.first <= jk.last:
			runs = append(runs, jk.last-l.first+1)
		}
	}
	l.run, l.gap = typical(runs[:min(len(runs), 3)]), typical(gaps)
	top := l.jumps[len(l.jumps)-1]
	l.refuted = slices.DeleteFunc(l.refuted, func(id int64) bool { return id <= top.last })
}

// typical returns the median of three values, the least of two, the one of
// one, and 0 of none.
func typical(v []int64) int64 {
	switch len(v) {
	case 0:
		return 0
	case 3:
		s := slices.Clone(v)
		slices.Sort(s)
		return s[1]
	}
	return slices.Min(v)
}

// anchor is the first row of the highest known run, from which runs are
// predicted; 0 when no gap is known.
func (l *layout) anchor() int64 {
	if len(l.jumps) == 0 {
		return 0
	}
	return l.jumps[len(l.jumps)-1].next
}

// locate returns the first row of the job after id x and the last row of
// the run that holds it, as known or predicted (math.MaxInt64 when no end
// is predicted).
func (l *layout) locate(x int64) (next, end int64) {
	next = x + 1
	if x < l.first {
		next = l.first
	}
	for _, j := range l.jumps {
		if j.last <= x && x < j.next-1 {
			next = j.next
			break
		}
	}
	s := l.anchor()
	if s == 0 || next < s {
		// Below the highest known gap: the run ends at the next known one.
		for _, j := range l.jumps {
			if j.last >= next {
				return next, j.last
			}
		}
		return next, math.MaxInt64
	}
	if l.run == 0 {
		return next, math.MaxInt64
	}
	for range maxRunsAhead {
		e := s + l.run - 1
		for slices.Contains(l.refuted, e) {
			e += l.run
		}
		switch {
		case next <= e:
			return next, e
		case next <= e+l.gap:
			next = e + l.gap + 1
			return next, next + l.run - 1
		}
		s = e + l.gap + 1
	}
	return next, math.MaxInt64
}

// reach predicts the last row of a full page at cursor after: perPage rows
// on, across the gaps known or predicted.
func (l *layout) reach(after int64) int64 {
	x, need := after, l.perPage
	for range l.perPage {
		s, e := l.locate(x)
		k := min(need, e-s+1)
		need -= k
		x = s + k - 1
		if need == 0 {
			break
		}
	}
	return x
}

// gapAt returns the known gap holding id x (last ≤ x < next-1: a page at x
// would start at next), if any.
func (l *layout) gapAt(x int64) (jump, bool) {
	for _, j := range l.jumps {
		if j.last <= x && x < j.next-1 {
			return j, true
		}
	}
	return jump{}, false
}
