package join

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulkload/bulkload/api"
)

// TestLookupCases spells out the errors-only tie on small inputs: a row
// names a line only when its content is at one (file, line) of the whole
// index, whatever the order or the subset of rows read.
func TestLookupCases(t *testing.T) {
	type batch struct {
		file  string
		recs  string // records by letter
		lines []int  // nil: indexed without lines
	}
	tests := []struct {
		name    string
		batches []batch
		rows    string // the letters of the rows read, in any order
		want    []int  // lines
		files   []string
	}{
		{"distinct, any order", []batch{{"", "ab", []int{2, 3}}, {"", "c", []int{5}}}, "cb", []int{5, 3}, nil},
		{"a repeat on two lines", []batch{{"", "abc", []int{2, 3, 4}}, {"", "da", []int{5, 6}}}, "acd", []int{0, 4, 5}, nil},
		{"a repeat inside one batch", []batch{{"", "aba", []int{2, 3, 4}}}, "ba", []int{3, 0}, nil},
		{"two records on one line", []batch{{"", "a", []int{7}}, {"", "ab", []int{7, 8}}}, "ab", []int{7, 8}, nil},
		{"a row not in the input", []batch{{"", "a", []int{2}}}, "za", []int{0, 2}, nil},
		{"re-serialized", []batch{{"", "a", []int{2}}}, "A", []int{2}, nil},
		{"indexed without lines", []batch{{"", "ab", nil}}, "b", []int{0}, nil},
		{"files: each names its own", []batch{{"x.csv", "ab", []int{2, 3}}, {"y.csv", "c", []int{2}}}, "cab", []int{2, 2, 3}, []string{"y.csv", "x.csv", "x.csv"}},
		{"files: the same line of two files", []batch{{"x.csv", "ab", []int{2, 3}}, {"y.csv", "a", []int{2}}}, "ab", []int{0, 3}, []string{"", "x.csv"}},
		{"files: the same record in one file twice, once in another", []batch{{"x.csv", "a", []int{2}}, {"x.csv", "a", []int{9}}, {"y.csv", "b", []int{2}}}, "ba", []int{2, 0}, []string{"y.csv", ""}},
	}
	rec := func(c byte) string {
		if c == 'A' { // a's record as a server may echo it
			return "{ \"k\" : \"a\",\n \"n\": 1.0 }"
		}
		return `{"n":1,"k":"` + string(c) + `"}`
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := openIndex(t, "")
			for seq, b := range tt.batches {
				var recs []string
				for i := range len(b.recs) {
					recs = append(recs, rec(b.recs[i]))
				}
				if err := x.Add(seq, b.file, body(recs...), b.lines); err != nil {
					t.Fatal(err)
				}
			}
			if err := x.Seal(); err != nil {
				t.Fatal(err)
			}
			l, err := NewLookup(x, LookupConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var got []int
			var files []string
			for i := range len(tt.rows) {
				tie := l.Resolve(api.Result{ID: int64(i + 1), Status: api.StatusError, Record: json.RawMessage(rec(tt.rows[i]))})
				got, files = append(got, tie.Line), append(files, tie.File)
				if tie.Exact {
					t.Errorf("row %c: Exact set by a Lookup", tt.rows[i])
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("lines = %v; want %v", got, tt.want)
			}
			if tt.files != nil && fmt.Sprint(files) != fmt.Sprint(tt.files) {
				t.Errorf("files = %q; want %q", files, tt.files)
			}
			st := l.Stats()
			if st.Results != int64(len(tt.rows)) || st.Lines+st.Empty != st.Results || st.Empty < st.Ambiguous+st.Unmatched {
				t.Errorf("Stats() = %+v; inconsistent with %d rows", st, len(tt.rows))
			}
		})
	}
}

// TestLookupNeverWrong ties a random part of a job's rows, in random order,
// over inputs from all distinct to mostly repeated, in several files, with
// the sort cut into runs of every size: each row gets the line of its
// record exactly when its content starts on one line of one file, and is
// empty otherwise.
func TestLookupNeverWrong(t *testing.T) {
	tests := []struct {
		name             string
		n, distinct      int
		files            int
		share            float64 // of the rows read
		chunk            int
		resent, allLines bool
	}{
		{"distinct, one run", 3000, 1 << 30, 1, 0.05, 0, false, true},
		{"distinct, runs of 1", 500, 1 << 30, 1, 0.3, 1, false, true},
		{"distinct, runs of 7", 3000, 1 << 30, 1, 0.3, 7, false, true},
		{"distinct, resent batches", 3000, 1 << 30, 1, 0.3, 100, true, true},
		{"distinct, three files", 3000, 1 << 30, 3, 0.3, 64, false, true},
		{"few repeats", 3000, 30000, 1, 0.3, 100, false, false},
		{"many repeats, three files", 3000, 500, 3, 0.5, 100, true, false},
		{"all one record", 300, 1, 2, 1, 16, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(3) {
				rng := rand.New(rand.NewPCG(seed, 99))
				x := openIndex(t, "")
				// where[content] is every (file, line) it starts on.
				type at struct {
					file string
					line int
				}
				where := map[string]map[at]bool{}
				var all []string
				var allAt []at
				line := make([]int, tt.files)
				for seq := 0; len(all) < tt.n; seq++ {
					f := rng.IntN(tt.files)
					file := ""
					if tt.files > 1 {
						file = fmt.Sprintf("in%d.jsonl", f)
					}
					var recs []string
					var lines []int
					for range min(1+rng.IntN(40), tt.n-len(all)) {
						line[f] += 1 + rng.IntN(2)
						r := fmt.Sprintf(`{"email_address":"p%d@example.com"}`, rng.IntN(tt.distinct))
						recs, lines = append(recs, r), append(lines, line[f])
						if where[r] == nil {
							where[r] = map[at]bool{}
						}
						where[r][at{file, line[f]}] = true
						all, allAt = append(all, r), append(allAt, at{file, line[f]})
					}
					// Each file's batches are numbered apart, as uploads do.
					if err := x.Add(seq, file, body(recs...), lines); err != nil {
						t.Fatal(err)
					}
					if tt.resent && rng.IntN(5) == 0 { // indexed again, as a resumed upload does
						if err := x.Add(seq, file, body(recs...), lines); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := x.Seal(); err != nil {
					t.Fatal(err)
				}
				l, err := NewLookup(x, LookupConfig{ChunkRecords: tt.chunk})
				if err != nil {
					t.Fatal(err)
				}
				var tied, read int
				for _, i := range rng.Perm(len(all)) {
					if rng.Float64() >= tt.share {
						continue
					}
					read++
					tie := l.Resolve(api.Result{ID: int64(i + 1), Status: api.StatusError, Record: json.RawMessage(all[i])})
					want := at{}
					if len(where[all[i]]) == 1 {
						want = allAt[i]
					}
					if (at{tie.File, tie.Line}) != want {
						t.Fatalf("seed %d: row %d (%s, line %d of %q, content on %d lines) tied to line %d of %q; want %d of %q",
							seed, i, all[i], allAt[i].line, allAt[i].file, len(where[all[i]]), tie.Line, tie.File, want.line, want.file)
					}
					if tie.Line > 0 {
						tied++
					}
				}
				st := l.Stats()
				if st.Results != int64(read) || st.Lines != int64(tied) || st.Lines+st.Empty != st.Results || st.Unmatched != 0 || st.Empty != st.Ambiguous {
					t.Errorf("Stats() = %+v; want %d rows, %d tied, the rest ambiguous", st, read, tied)
				}
				if tt.allLines && tied != read {
					t.Errorf("%d of %d rows tied; want all", tied, read)
				}
				b := l.Build()
				if b.Records != int64(len(all)) || b.Reused || (tt.chunk > 0 && b.Runs != (len(all)+tt.chunk-1)/tt.chunk) {
					t.Errorf("Build() = %+v; want %d records in runs of %d", b, len(all), tt.chunk)
				}
				if seed == 0 {
					t.Logf("%d rows read: %d tied, %d ambiguous; %d records, %d distinct, %d runs, %d bytes", read, tied, st.Ambiguous, b.Records, b.Distinct, b.Runs, b.Bytes)
				}
				l.Close()
			}
		})
	}
}

// TestLookupFile: the sorted file is made once and reused by the next
// Lookup over the same index, made again when the index changed or the
// file is torn, and a corrupt block leaves lines empty, never wrong.
func TestLookupFile(t *testing.T) {
	dir := t.TempDir()
	x := openIndex(t, filepath.Join(dir, "join.idx"))
	var recs []string
	var lines []int
	for i := range 1000 {
		recs, lines = append(recs, fmt.Sprintf(`{"i":%d}`, i)), append(lines, i+2)
	}
	x.Add(0, "", body(recs[:600]...), lines[:600])
	x.Add(1, "", body(recs[600:]...), lines[600:])
	x.Seal()
	row := func(i int) api.Result { return api.Result{ID: 1, Record: json.RawMessage(recs[i])} }
	open := func() *Lookup {
		t.Helper()
		l, err := NewLookup(x, LookupConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}

	first := open()
	if err := first.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b := first.Build(); b.Reused || b.Distinct != 1000 || b.Runs != 1 {
		t.Errorf("first Build() = %+v; want a new file of 1000 entries", b)
	}
	path := filepath.Join(dir, "join.idx.byhash")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	second := open()
	if got := second.Resolve(row(700)).Line; got != 702 {
		t.Errorf("reused file: line %d; want 702", got)
	}
	if b := second.Build(); !b.Reused {
		t.Errorf("second Build() = %+v; want the file reused", b)
	}

	// A record added to the index (a later upload): the file is made again.
	x.Add(2, "", body(`{"i":7}`, `{"new":1}`), []int{5000, 5001})
	x.Seal()
	third := open()
	if got := third.Resolve(row(7)).Line; got != 0 {
		t.Errorf("after {\"i\":7} was added on another line: line %d; want 0", got)
	}
	if got := third.Resolve(api.Result{Record: json.RawMessage(`{"new":1}`)}).Line; got != 5001 {
		t.Errorf("the added record: line %d; want 5001", got)
	}
	if b := third.Build(); b.Reused {
		t.Errorf("Build() after the index changed = %+v; want the file made again", b)
	}

	// A flipped byte in a block: its rows are empty, and Err says why.
	data, _ := os.ReadFile(path)
	data[lookupHead+100] ^= 0xff
	os.WriteFile(path, data, 0o600)
	bad := open()
	for i := range recs {
		if got := bad.Resolve(row(i)).Line; got != 0 && got != lines[i] {
			t.Fatalf("corrupt file: row %d tied to %d; want %d or empty", i, got, lines[i])
		}
	}
	if bad.Err() == nil || bad.Stats().Unmatched == 0 {
		t.Errorf("corrupt file: Err() = %v, Stats() = %+v; want an error and unmatched rows", bad.Err(), bad.Stats())
	}
	// A torn file is made again.
	os.WriteFile(path, data[:len(data)-5], 0o600)
	again := open()
	if got := again.Resolve(row(3)).Line; got != 5 || again.Build().Reused {
		t.Errorf("torn file: line %d, %+v; want 5 from a file made again", got, again.Build())
	}
}

// TestLookupState: the counts go on from a saved State; a Resolver's
// state, or garbage, starts them at zero.
func TestLookupState(t *testing.T) {
	x := openIndex(t, "")
	x.Add(0, "", body(`{"a":1}`, `{"a":2}`, `{"a":1}`), []int{2, 3, 4})
	x.Seal()
	l, _ := NewLookup(x, LookupConfig{})
	defer l.Close()
	for _, r := range []string{`{"a":1}`, `{"a":2}`, `{"a":3}`} {
		l.Resolve(api.Result{Record: json.RawMessage(r)})
	}
	want := ResolverStats{Results: 3, Lines: 1, Empty: 2, Ambiguous: 1, Unmatched: 1}
	if l.Stats() != want {
		t.Fatalf("Stats() = %+v; want %+v", l.Stats(), want)
	}
	again, _ := NewLookup(x, LookupConfig{State: l.State()})
	if again.Stats() != want {
		t.Errorf("resumed Stats() = %+v; want %+v", again.Stats(), want)
	}
	r, _ := NewResolver(x, ResolverConfig{})
	for name, state := range map[string][]byte{"resolver": r.State(), "truncated": l.State()[:3], "empty": {}} {
		if l, _ := NewLookup(x, LookupConfig{State: state}); l.Stats() != (ResolverStats{}) {
			t.Errorf("State %s: Stats() = %+v; want zero", name, l.Stats())
		}
	}
}

func TestNewLookupNotSealed(t *testing.T) {
	x := openIndex(t, "")
	x.Add(0, "", body(`{"a":1}`), []int{1})
	if _, err := NewLookup(x, LookupConfig{}); err != ErrNotSealed {
		t.Errorf("NewLookup(unsealed) = %v; want ErrNotSealed", err)
	}
}

// A read stopped while the index is being sorted stops the sort: Prepare
// returns the context's error, the Lookup ties nothing, and no sorted or
// temporary file is left for the next read to trust.
func TestLookupPrepareCancelled(t *testing.T) {
	dir := t.TempDir()
	x := openIndex(t, filepath.Join(dir, "join.idx"))
	x.Add(0, "", body(`{"i":1}`, `{"i":2}`), []int{2, 3})
	x.Seal()
	l, err := NewLookup(x, LookupConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Prepare(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Prepare(cancelled) = %v; want context.Canceled", err)
	}
	if got := l.Resolve(api.Result{Record: json.RawMessage(`{"i":2}`)}).Line; got != 0 || !errors.Is(l.Err(), context.Canceled) {
		t.Errorf("after a cancelled Prepare: line %d, Err %v; want none and the cancellation", got, l.Err())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "join.idx.*")); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
	// The next read sorts afresh and ties.
	again, err := NewLookup(x, LookupConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := again.Resolve(api.Result{Record: json.RawMessage(`{"i":2}`)}).Line; got != 3 {
		t.Errorf("the next Lookup: line %d; want 3", got)
	}
}
