package join

import (
	"cmp"
	"errors"
	"slices"

	"github.com/bulkload/bulkload/api"
)

// Tie is where a result's record came from. The zero Tie means "not
// known": the record could not be tied to one input record with certainty.
type Tie struct {
	// Line is the 1-based line of the input on which the record starts;
	// 0 when not certain (or when the index was given no lines).
	Line int
	// File is the input file, as passed to Index.Add; "" for a single input.
	File string
	// Seq and Record name the batch (its seq) and the record's index in it.
	// Valid only when Exact is set.
	Seq, Record int
	// Exact reports that the result is tied to one input record. A result
	// whose candidates all start on the same line of the same file (two
	// records of a JSON array on one line) has a Line without being Exact.
	// A Lookup's ties never are: they name Line and File only.
	Exact bool
}

// ResolverConfig configures a Resolver. The zero value resolves a job whose
// every batch was stored once, from its first result.
type ResolverConfig struct {
	// Repeats must be set when the upload may have stored a batch more than
	// once: uploader.Config.ResendUnresolvable was set and
	// uploader.Stats.Duplicates (or the manifest's count) is not zero. The
	// resolver then expects a batch to start again after its last record.
	// Default false: every batch was stored once.
	Repeats bool
	// State resumes a resolver from Resolver.State, saved with the
	// poller's cursor after the results up to it were resolved. Nil starts
	// before the job's first result.
	State []byte
	// MaxLost bounds the memory spent on lost batches (see the package
	// doc): the unread records of lost batches it tracks, about 56 bytes
	// each. Past it the resolver stops tying, and every later result is
	// left without a line (ResolverStats.GaveUp): only an input made
	// mostly of repeats gets there. 0 means DefaultMaxLost.
	MaxLost int
}

// DefaultMaxLost is the default ResolverConfig.MaxLost: about 56 MiB.
const DefaultMaxLost = 1 << 20

// ResolverStats counts the results a Resolver has seen.
type ResolverStats struct {
	Results   int64 // results passed to Resolve
	Lines     int64 // given a line
	Empty     int64 // given no line: Ambiguous + Unmatched + GaveUp (+ ties to records indexed without lines)
	Ambiguous int64 // could be more than one input record, on different lines
	Unmatched int64 // matched no record the index expects next
	// GaveUp counts the results after the resolver stopped: the batches it
	// lost track of held more than ResolverConfig.MaxLost records, an input
	// made mostly of repeats.
	GaveUp int64
}

// bstate is a batch's place in the stream of results.
type bstate struct {
	cur  int32 // records before cur were read; cur == n: all read
	lost bool  // cur is only a lower bound (see the package doc)
}

// Resolver ties results, read in ascending id, to input records; see the
// package doc. Create it with NewResolver. A Resolver is not safe for
// concurrent use: it is fed from the poller's handler.
type Resolver struct {
	x        *Index
	files    []string
	batches  []batchInfo
	order    []int32 // batches in key order, for State
	digest   uint64
	repeats  bool
	st       []bstate
	frontier map[uint64]int32   // hash of a batch's next record -> the batch
	shared   map[uint64][]int32 // the same, for hashes next in several batches
	lost     map[int32]int32    // lost batch -> first position that may be unread
	lostBy   map[uint64][]cand  // hash -> records of lost batches that may be unread
	lostRecs int                // records in lostBy
	maxLost  int
	gaveUp   bool // lost batches outgrew maxLost: no more ties
	cache    entryCache
	canon    canon
	cands    []cand
	stats    ResolverStats
	err      error // from reading the index; then every result is Unmatched
}

type cand struct{ b, pos int32 }

// NewResolver returns a Resolver over a sealed index (ErrNotSealed
// otherwise). The index must stay open while the Resolver is used.
func NewResolver(x *Index, cfg ResolverConfig) (*Resolver, error) {
	x.mu.Lock()
	sealed := x.sealed
	r := &Resolver{x: x, files: slices.Clone(x.files), batches: slices.Clone(x.batches), digest: x.digest(),
		repeats: cfg.Repeats, frontier: map[uint64]int32{}, shared: map[uint64][]int32{}, lost: map[int32]int32{}, lostBy: map[uint64][]cand{}, maxLost: cfg.MaxLost}
	if r.maxLost == 0 {
		r.maxLost = DefaultMaxLost
	}
	x.mu.Unlock()
	if !sealed {
		return nil, ErrNotSealed
	}
	r.cache.x = x
	r.st = make([]bstate, len(r.batches))
	r.order = make([]int32, len(r.batches))
	for i := range r.order {
		r.order[i] = int32(i)
	}
	slices.SortFunc(r.order, func(a, b int32) int {
		ka, kb := r.batches[a].key, r.batches[b].key
		if ka.file != kb.file {
			return int(ka.file - kb.file)
		}
		return cmp.Compare(ka.seq, kb.seq)
	})
	if cfg.State != nil {
		if err := r.restore(cfg.State); err != nil {
			return nil, err
		}
	}
	for b := range r.st {
		if err := r.place(int32(b)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// place puts batch b where its state says: in the frontier under the hash
// of its next record, in the lost table, or nowhere when all read.
func (r *Resolver) place(b int32) error {
	s := r.st[b]
	n := r.batches[b].n
	if s.lost {
		from := s.cur
		if r.repeats {
			from = 0
		}
		if r.lostRecs+int(n-from) > r.maxLost {
			r.gaveUp = true
			return nil
		}
		es, err := r.cache.get(b)
		if err != nil {
			return err
		}
		for p := from; p < n; p++ {
			r.lostBy[es[p].hash] = append(r.lostBy[es[p].hash], cand{b, p})
		}
		r.lost[b] = from
		r.lostRecs += int(n - from)
		return nil
	}
	if s.cur == n {
		if !r.repeats {
			return nil
		}
		r.st[b].cur, s.cur = 0, 0
	}
	e := r.batches[b].head
	if s.cur > 0 {
		es, err := r.cache.get(b)
		if err != nil {
			return err
		}
		e = es[s.cur]
	}
	r.addFrontier(e.hash, b)
	return nil
}

// addFrontier records that batch b's next record has hash h.
func (r *Resolver) addFrontier(h uint64, b int32) {
	if list, ok := r.shared[h]; ok {
		r.shared[h] = append(list, b)
		return
	}
	if other, ok := r.frontier[h]; ok {
		delete(r.frontier, h)
		r.shared[h] = []int32{other, b}
		return
	}
	r.frontier[h] = b
}

// removeFrontier undoes addFrontier.
func (r *Resolver) removeFrontier(h uint64, b int32) {
	if other, ok := r.frontier[h]; ok {
		if other == b {
			delete(r.frontier, h)
		}
		return
	}
	list := r.shared[h]
	if i := slices.Index(list, b); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	switch len(list) {
	case 0:
		delete(r.shared, h)
	case 1:
		delete(r.shared, h)
		r.frontier[h] = list[0]
	default:
		r.shared[h] = list
	}
}

// unplace takes batch b out of the frontier or the lost table.
func (r *Resolver) unplace(b int32) error {
	if r.st[b].lost {
		from, ok := r.lost[b]
		if !ok {
			return nil
		}
		es, err := r.cache.get(b)
		if err != nil {
			return err
		}
		for p := from; p < r.batches[b].n; p++ {
			h := es[p].hash
			list := r.lostBy[h]
			if i := slices.Index(list, cand{b, p}); i >= 0 {
				list = slices.Delete(list, i, i+1)
			}
			if len(list) == 0 {
				delete(r.lostBy, h)
			} else {
				r.lostBy[h] = list
			}
		}
		r.lostRecs -= int(r.batches[b].n - from)
		delete(r.lost, b)
		return nil
	}
	if r.st[b].cur == r.batches[b].n {
		return nil
	}
	e := r.batches[b].head
	if r.st[b].cur > 0 {
		es, err := r.cache.get(b)
		if err != nil {
			return err
		}
		e = es[r.st[b].cur]
	}
	r.removeFrontier(e.hash, b)
	return nil
}

// Resolve ties one result to its input record. Call it for every result
// of the job, in ascending id, each once: in full mode (not ErrorsOnly),
// the results as the poller hands them over. Rows read on their own (the
// errors-only poll) are tied by a Lookup instead. A result that cannot be tied
// with certainty gets the zero Tie.
func (r *Resolver) Resolve(res api.Result) Tie {
	r.stats.Results++
	t := r.resolve(res.Record)
	if t.Line > 0 {
		r.stats.Lines++
	} else {
		r.stats.Empty++
	}
	return t
}

// Line is Resolve for poller.FilesConfig.Line: the line and the file.
func (r *Resolver) Line(res api.Result) (line int, file string) {
	t := r.Resolve(res)
	return t.Line, t.File
}

func (r *Resolver) resolve(record []byte) Tie {
	if r.gaveUp {
		r.stats.GaveUp++
		return Tie{}
	}
	h, err := r.canon.hash(record)
	if err != nil || r.err != nil {
		r.stats.Unmatched++
		return Tie{}
	}
	r.cands = r.cands[:0]
	if b, ok := r.frontier[h]; ok {
		r.cands = append(r.cands, cand{b, r.st[b].cur})
	} else {
		for _, b := range r.shared[h] {
			r.cands = append(r.cands, cand{b, r.st[b].cur})
		}
	}
	r.cands = append(r.cands, r.lostBy[h]...)
	switch len(r.cands) {
	case 0:
		r.stats.Unmatched++
		return Tie{}
	case 1:
		c := r.cands[0]
		e, err := r.entry(c.b, c.pos)
		if err == nil {
			err = r.advance(c.b, c.pos+1)
		}
		if err != nil {
			r.fail(err)
			r.stats.Unmatched++
			return Tie{}
		}
		bi := r.batches[c.b]
		return Tie{Line: int(e.line), File: r.files[bi.key.file], Seq: int(bi.key.seq), Record: int(c.pos), Exact: true}
	}
	// More than one record could be this one: which batch moved is not
	// known, so every candidate's batch is lost from here on.
	t, same := Tie{}, true
	for i, c := range r.cands {
		e, err := r.entry(c.b, c.pos)
		if err != nil {
			r.fail(err)
			r.stats.Unmatched++
			return Tie{}
		}
		file := r.files[r.batches[c.b].key.file]
		if i == 0 {
			t = Tie{Line: int(e.line), File: file}
		} else if int(e.line) != t.Line || file != t.File {
			same = false
		}
	}
	for _, c := range r.cands {
		if r.st[c.b].lost {
			continue
		}
		if err := r.unplace(c.b); err != nil {
			r.fail(err)
			break
		}
		r.st[c.b].lost = true
		if err := r.place(c.b); err != nil {
			r.fail(err)
			break
		}
	}
	if !same || t.Line == 0 {
		r.stats.Ambiguous++
		return Tie{}
	}
	return t
}

// fail stops the resolver after an error reading the index: every later
// result is unmatched, and Err reports the error.
func (r *Resolver) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Err returns the error, if any, that stopped the resolver: an index that
// could not be read. Results resolved after it have no line.
func (r *Resolver) Err() error { return r.err }

// entry returns batch b's record p.
func (r *Resolver) entry(b, p int32) (entry, error) {
	if p == 0 {
		return r.batches[b].head, nil
	}
	es, err := r.cache.get(b)
	if err != nil {
		return entry{}, err
	}
	return es[p], nil
}

// advance moves batch b past its record cur-1: it is no longer lost.
func (r *Resolver) advance(b, cur int32) error {
	if err := r.unplace(b); err != nil {
		return err
	}
	r.st[b] = bstate{cur: cur}
	return r.place(b)
}

// Stats returns the counts so far.
func (r *Resolver) Stats() ResolverStats { return r.stats }

// ErrState is wrapped by NewResolver for a ResolverConfig.State it cannot
// use: corrupt, from another index, or saved with another Repeats.
var ErrState = errors.New("join: the saved resolver state does not fit")
