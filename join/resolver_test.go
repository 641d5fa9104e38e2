package join

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bulkload/bulkload/api"
)

// synth is an input split into batches, indexed, and a job's rows made of
// those batches, with the truth: which record each row is.
type synth struct {
	x     *Index
	recs  [][]string // per batch
	lines [][]int
	rows  []api.Result
	truth []cand // per row: batch and record
}

// newSynth makes n records drawn from `distinct` contents (so repeats when
// distinct < n), in batches of 1..maxBatch, indexes them and sealed.
func newSynth(tb testing.TB, rng *rand.Rand, n, distinct, maxBatch int) *synth {
	tb.Helper()
	s := &synth{x: openIndex(tb, "")}
	line := 1
	for i := 0; i < n; {
		k := min(1+rng.IntN(maxBatch), n-i)
		var recs []string
		var lines []int
		for range k {
			recs = append(recs, fmt.Sprintf(`{"email_address":"p%d@example.com","first_name":"P"}`, rng.IntN(distinct)))
			lines = append(lines, line)
			line += 1 + rng.IntN(2) // some records span two lines
		}
		s.recs, s.lines = append(s.recs, recs), append(s.lines, lines)
		i += k
	}
	for _, seq := range rng.Perm(len(s.recs)) { // workers index in any order
		if err := s.x.Add(seq, "", body(s.recs[seq]...), s.lines[seq]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := s.x.Seal(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// store lays out the job's rows: the batches in a random order, each whole
// (contiguous, as the emulator stores them) or their records interleaved at
// random (as the real API may), with `repeats` batches stored a second time
// after their first copy.
func (s *synth) store(rng *rand.Rand, contiguous bool, repeats int) {
	type copyOf struct{ b, next int }
	var pending []copyOf
	for _, b := range rng.Perm(len(s.recs)) {
		pending = append(pending, copyOf{b: b})
	}
	again := map[int]bool{}
	for _, b := range rng.Perm(len(s.recs))[:repeats] {
		again[b] = true
	}
	reserialize := func(rec string) json.RawMessage {
		if rng.IntN(2) == 0 {
			return json.RawMessage(rec)
		}
		var v map[string]any
		json.Unmarshal([]byte(rec), &v)
		b, _ := json.MarshalIndent(v, "", " ")
		return b
	}
	for len(pending) > 0 {
		i := 0
		if !contiguous {
			i = rng.IntN(min(len(pending), 4)) // 4 workers' batches in flight
		}
		c := &pending[i]
		s.rows = append(s.rows, api.Result{ID: int64(len(s.rows) + 1), Status: api.StatusSuccess,
			Record: reserialize(s.recs[c.b][c.next])})
		s.truth = append(s.truth, cand{int32(c.b), int32(c.next)})
		c.next++
		if c.next == len(s.recs[c.b]) {
			b := c.b
			pending = append(pending[:i], pending[i+1:]...)
			if again[b] {
				delete(again, b)
				pending = append(pending, copyOf{b: b}) // resent after the first copy was stored
			}
		}
	}
}

// check feeds the rows to r from row `from` on and fails on any wrong tie.
func (s *synth) check(tb testing.TB, r *Resolver, from int) []Tie {
	tb.Helper()
	var ties []Tie
	for i, row := range s.rows[from:] {
		t := r.Resolve(row)
		ties = append(ties, t)
		want := s.truth[from+i]
		if t.Line != 0 && t.Line != s.lines[want.b][want.pos] {
			tb.Fatalf("row %d: Resolve() = %+v; want line %d (batch %d record %d)", from+i, t, s.lines[want.b][want.pos], want.b, want.pos)
		}
		if t.Exact && (t.Seq != int(want.b) || t.Record != int(want.pos)) {
			tb.Fatalf("row %d: Resolve() = %+v; want batch %d record %d", from+i, t, want.b, want.pos)
		}
	}
	return ties
}

// TestResolverNeverWrong ties jobs laid out every way the API may store
// them, with inputs from all distinct to mostly repeated: no line is ever
// wrong, and inputs without repeats are tied whole.
func TestResolverNeverWrong(t *testing.T) {
	tests := []struct {
		name                  string
		n, distinct, maxBatch int
		contiguous            bool
		repeats               int
		wantAllLines          bool
		maxLost               int
	}{
		{"distinct, contiguous", 2000, 1 << 30, 50, true, 0, true, 0},
		{"distinct, interleaved", 2000, 1 << 30, 50, false, 0, true, 0},
		{"distinct, resent batches", 2000, 1 << 30, 50, false, 3, true, 0},
		{"few repeats, contiguous", 2000, 20000, 50, true, 0, false, 0},
		{"few repeats, interleaved", 2000, 20000, 50, false, 0, false, 0},
		{"many repeats, interleaved", 2000, 300, 50, false, 0, false, 0},
		{"many repeats, resent", 2000, 300, 50, false, 4, false, 0},
		{"all one record", 300, 1, 20, false, 0, false, 0},
		{"batches of one", 500, 100, 1, false, 0, false, 0},
		{"gives up past MaxLost", 2000, 300, 50, false, 0, false, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(5) {
				rng := rand.New(rand.NewPCG(seed, 12))
				s := newSynth(t, rng, tt.n, tt.distinct, tt.maxBatch)
				s.store(rng, tt.contiguous, tt.repeats)
				r, err := NewResolver(s.x, ResolverConfig{Repeats: tt.repeats > 0, MaxLost: tt.maxLost})
				if err != nil {
					t.Fatal(err)
				}
				s.check(t, r, 0)
				st := r.Stats()
				if st.Results != int64(len(s.rows)) || st.Lines+st.Empty != st.Results || st.Empty < st.Ambiguous+st.Unmatched {
					t.Errorf("Stats() = %+v; inconsistent with %d rows", st, len(s.rows))
				}
				if tt.wantAllLines && st.Empty != 0 {
					t.Errorf("Stats() = %+v; want every row tied", st)
				}
				if (st.GaveUp > 0) != (tt.maxLost > 0) {
					t.Errorf("Stats() = %+v; want GaveUp only past a small MaxLost", st)
				}
				if seed == 0 {
					t.Logf("%d rows: %d lines, %d empty (%d ambiguous, %d unmatched, %d after giving up)", st.Results, st.Lines, st.Empty, st.Ambiguous, st.Unmatched, st.GaveUp)
				}
			}
		})
	}
}

// TestResolverRepeatsUndeclared shows why Repeats must be declared: a
// batch's second copy, in a job said to store each batch once, finds no
// candidate and is left empty (the rows stay unmatched, not wrong).
func TestResolverRepeatsUndeclared(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newSynth(t, rng, 200, 1<<30, 10)
	s.store(rng, true, 2)
	r, _ := NewResolver(s.x, ResolverConfig{})
	s.check(t, r, 0)
	if st := r.Stats(); st.Unmatched == 0 {
		t.Errorf("Stats() = %+v; want the second copies unmatched", st)
	}
}

// TestResolverState stops a resolver at many points and resumes a new one
// from its State: the new one ties every later row as the first would.
func TestResolverState(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	s := newSynth(t, rng, 1000, 150, 40)
	s.store(rng, false, 2)
	cfg := ResolverConfig{Repeats: true}
	whole, _ := NewResolver(s.x, cfg)
	want := s.check(t, whole, 0)
	for _, stop := range []int{0, 1, 37, 500, 999, len(s.rows)} {
		first, _ := NewResolver(s.x, cfg)
		for _, row := range s.rows[:stop] {
			first.Resolve(row)
		}
		state := first.State()
		cfg.State = state
		again, err := NewResolver(s.x, cfg)
		cfg.State = nil
		if err != nil {
			t.Fatalf("NewResolver(State after %d rows) = %v", stop, err)
		}
		if again.Stats() != first.Stats() {
			t.Errorf("after %d rows: resumed Stats() = %+v; want %+v", stop, again.Stats(), first.Stats())
		}
		got := s.check(t, again, stop)
		for i := range got {
			if got[i] != want[stop+i] {
				t.Fatalf("resumed after %d rows: row %d = %+v; want %+v", stop, stop+i, got[i], want[stop+i])
			}
		}
		if again.Stats() != whole.Stats() {
			t.Errorf("resumed after %d rows: final Stats() = %+v; want %+v", stop, again.Stats(), whole.Stats())
		}
		if stop == 500 {
			t.Logf("State after %d of %d rows (%d batches): %d bytes", stop, len(s.rows), len(s.recs), len(state))
		}
	}
}

func TestResolverStateErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	s := newSynth(t, rng, 100, 1<<30, 10)
	r, _ := NewResolver(s.x, ResolverConfig{})
	good := r.State()
	other := newSynth(t, rng, 100, 1<<30, 10)
	bad := map[string][]byte{
		"empty":         {},
		"version":       append([]byte{9}, good[1:]...),
		"truncated":     good[:len(good)-1],
		"another index": func() []byte { r, _ := NewResolver(other.x, ResolverConfig{}); return r.State() }(),
		"other repeats": func() []byte { r, _ := NewResolver(s.x, ResolverConfig{Repeats: true}); return r.State() }(),
	}
	for name, state := range bad {
		if _, err := NewResolver(s.x, ResolverConfig{State: state}); !errors.Is(err, ErrState) {
			t.Errorf("NewResolver(State %s) = %v; want ErrState", name, err)
		}
	}
}

func TestNewResolverNotSealed(t *testing.T) {
	x := openIndex(t, "")
	x.Add(0, "", body(`{"a":1}`), []int{1})
	if _, err := NewResolver(x, ResolverConfig{}); err != ErrNotSealed {
		t.Errorf("NewResolver(unsealed) = %v; want ErrNotSealed", err)
	}
}

// TestResolverCases spells out the rules on small inputs, rows in order.
func TestResolverCases(t *testing.T) {
	tests := []struct {
		name    string
		batches [][]string // records by letter
		lines   [][]int
		rows    string // the letters of the rows, in id order
		want    []int  // lines
	}{
		{"distinct", [][]string{{"a", "b"}, {"c"}}, [][]int{{2, 3}, {4}}, "cab", []int{4, 2, 3}},
		{"a repeat inside a batch", [][]string{{"a", "b", "a"}}, [][]int{{2, 3, 4}}, "aba", []int{2, 3, 4}},
		{"a repeat next in two batches", [][]string{{"a", "b"}, {"a", "c"}}, [][]int{{2, 3}, {4, 5}}, "aacb", []int{0, 0, 5, 3}},
		// b shows that the first a was batch 0's, so the second a is batch 1's.
		{"lost, then found by a record of its own", [][]string{{"a", "b", "d"}, {"a", "c"}}, [][]int{{2, 3, 4}, {5, 6}}, "abacd", []int{0, 3, 5, 6, 4}},
		{"lost until a record of its own", [][]string{{"a", "a", "b"}, {"a", "c"}}, [][]int{{2, 3, 4}, {5, 6}}, "aaacb", []int{0, 0, 0, 6, 4}},
		{"a repeat that is not next elsewhere", [][]string{{"a", "b"}, {"c", "a"}}, [][]int{{2, 3}, {4, 5}}, "abca", []int{2, 3, 4, 5}},
		{"two records on one line", [][]string{{"a"}, {"a"}}, [][]int{{7}, {7}}, "aa", []int{7, 7}},
		{"a row not in the input", [][]string{{"a"}}, [][]int{{2}}, "za", []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := openIndex(t, "")
			rec := func(c byte) string { return `{"k":"` + string(c) + `"}` }
			for seq, letters := range tt.batches {
				var recs []string
				for _, l := range letters {
					recs = append(recs, rec(l[0]))
				}
				if err := x.Add(seq, "", body(recs...), tt.lines[seq]); err != nil {
					t.Fatal(err)
				}
			}
			x.Seal()
			r, err := NewResolver(x, ResolverConfig{})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for i := range len(tt.rows) {
				got = append(got, r.Resolve(api.Result{ID: int64(i + 1), Record: json.RawMessage(rec(tt.rows[i]))}).Line)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("lines = %v; want %v", got, tt.want)
			}
		})
	}
}

// FuzzResolverState resumes from arbitrary states: an error or a resolver
// that ties the rows without a panic.
func FuzzResolverState(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 5))
	s := newSynth(f, rng, 300, 60, 20)
	s.store(rng, false, 0)
	r, _ := NewResolver(s.x, ResolverConfig{})
	for _, row := range s.rows[:100] {
		r.Resolve(row)
	}
	f.Add(r.State(), 100)
	f.Add([]byte{1, 0}, 0)
	f.Fuzz(func(t *testing.T, state []byte, from int) {
		r, err := NewResolver(s.x, ResolverConfig{State: state})
		if err != nil {
			return
		}
		if from < 0 || from > len(s.rows) {
			from = 0
		}
		for _, row := range s.rows[from:] {
			r.Resolve(row)
		}
	})
}
