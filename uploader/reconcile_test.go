package uploader

import (
	"context"
	"fmt"
	"math/bits"
	"slices"
	"testing"

	"github.com/bulkload/bulkload/api"
)

func TestUniqueSubset(t *testing.T) {
	tests := []struct {
		sizes  []int
		target int
		want   []bool // nil: not unique
	}{
		{[]int{50}, 0, []bool{false}},
		{[]int{50}, 50, []bool{true}},
		{[]int{50, 50, 50}, 0, []bool{false, false, false}},
		{[]int{50, 50, 50}, 150, []bool{true, true, true}},
		{[]int{50, 50, 50}, 100, nil},
		{[]int{50, 50, 17}, 67, nil},
		{[]int{50, 30, 17}, 67, []bool{true, false, true}},
		{[]int{50, 30, 17}, 47, []bool{false, true, true}},
		{[]int{5000, 5000, 1234}, 6234, nil},
		{[]int{5000, 1234}, 5000, []bool{true, false}},
	}
	for _, tt := range tests {
		got, ok := uniqueSubset(tt.sizes, tt.target)
		if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
			t.Errorf("uniqueSubset(%v, %d) = %v, %v; want %v", tt.sizes, tt.target, got, ok, tt.want)
		}
	}
}

func digestsOf(t *testing.T, recs ...string) []digest {
	t.Helper()
	var out []digest
	for _, r := range recs {
		d, err := rowDigest([]byte(r))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestSolve(t *testing.T) {
	set := func(recs ...string) multiset { return multisetOf(digestsOf(t, recs...)) }
	a, b, c := set(`{"a":1}`, `{"a":2}`), set(`{"b":1}`, `{"b":2}`), set(`{"c":1}`, `{"c":2}`)
	dupOfA := set(`{"a":1}`, `{"a":2}`)
	tests := []struct {
		name    string
		sets    []multiset
		seen    multiset
		target  int
		want    []bool
		wantErr bool
	}{
		{"one of three", []multiset{a, b, c}, set(`{"x":0}`, `{"b":2}`, `{"b":1}`), 2, []bool{false, true, false}, false},
		{"two of three", []multiset{a, b, c}, set(`{"c":1}`, `{"a":1}`, `{"c":2}`, `{"a":2}`), 4, []bool{true, false, true}, false},
		{"re-serialised", []multiset{a, b}, set(`{ "a" : 1 }`, `{"a":2}`), 2, []bool{true, false}, false},
		{"identical batches: either will do", []multiset{a, dupOfA, b}, set(`{"a":1}`, `{"a":2}`), 2, []bool{true, false, false}, false},
		{"nothing fits", []multiset{a, b}, set(`{"x":1}`, `{"x":2}`), 2, nil, true},
		{"a batch half there does not count", []multiset{a, b}, set(`{"a":1}`, `{"b":1}`, `{"b":2}`), 2, []bool{false, true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sizes := make([]int, len(tt.sets))
			for i, s := range tt.sets {
				for _, n := range s {
					sizes[i] += n
				}
			}
			got, err := solve(tt.sets, sizes, tt.seen, tt.target)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("solve() = %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
	// Different content, both fitting: refuse to guess.
	ab := set(`{"a":1}`, `{"b":1}`)
	if _, err := solve([]multiset{a, ab}, []int{2, 2}, set(`{"a":1}`, `{"a":2}`, `{"b":1}`), 2); err == nil {
		t.Error("solve() chose between batches of different content that both fit")
	}
}

func TestRecordDigestsMatchListedRows(t *testing.T) {
	body := []byte(`{"data":[{"b":2,"a":"x\u00e9"} , {"n":1.50,"s":"<&>"}]}`)
	got, err := recordDigests(body)
	if err != nil {
		t.Fatal(err)
	}
	want := digestsOf(t, `{"a":"xé","b":2}`, `{"s":"<&>", "n":1.50}`)
	if !slices.Equal(got, want) {
		t.Errorf("recordDigests differ from the digests of the same records as a server might list them")
	}
	for _, bad := range []string{``, `[]`, `{"x":[]}`, `{"data":{}}`, `{"data":[{"a":1}`} {
		if _, err := recordDigests([]byte(bad)); err == nil {
			t.Errorf("recordDigests(%q) = nil error", bad)
		}
	}
}

// listFake serves ListJobData from rows with sparse ids and counts calls.
type listFake struct {
	Client
	rows  []api.Result
	calls int
}

func (f *listFake) ListJobData(_ context.Context, _ int64, o api.ListOptions) ([]api.Result, api.Response, error) {
	f.calls++
	i, _ := slices.BinarySearchFunc(f.rows, o.After+1, func(r api.Result, id int64) int { return int(r.ID - id) })
	end := min(i+o.PerPage, len(f.rows))
	return f.rows[i:end], api.Response{}, nil
}

func TestFindAnchor(t *testing.T) {
	for _, tc := range []struct {
		name      string
		before    int  // records before the window
		window    int  // records in the window
		gap       int  // id step: ids are sparse
		duplicate bool // an early record equals a window record
	}{
		{"small", 10, 5, 3, false},
		{"large job, small window", 100_000, 60, 7, false},
		{"window at the start", 0, 30, 2, false},
		{"duplicate content before the window", 50_000, 40, 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &listFake{}
			window := map[digest]bool{}
			id := int64(1000)
			firstWindowID := int64(0)
			for i := range tc.before + tc.window {
				rec := fmt.Sprintf(`{"i":%d}`, i)
				if tc.duplicate && i == tc.before/2 {
					rec = fmt.Sprintf(`{"i":%d}`, tc.before) // same as the window's first
				}
				id += int64(1 + i%tc.gap)
				f.rows = append(f.rows, api.Result{ID: id, Record: []byte(rec)})
				if i >= tc.before {
					window[digestsOf(t, rec)[0]] = true
					if firstWindowID == 0 {
						firstWindowID = id
					}
				}
			}
			r := &run{u: &Uploader{client: f, retry: fastRetry}, calls: context.Background(), stats: &counters{}}
			got, err := r.findAnchor(0, window)
			if err != nil {
				t.Fatal(err)
			}
			if got >= firstWindowID {
				t.Fatalf("findAnchor() = %d; the window starts at id %d", got, firstWindowID)
			}
			span := f.rows[len(f.rows)-1].ID
			if limit := 2*bits.Len64(uint64(span)) + 2; f.calls > limit {
				t.Errorf("findAnchor made %d calls; want at most %d (2·log2 of the id span)", f.calls, limit)
			}
			if !tc.duplicate {
				// Only records just before the window are left to list.
				after := 0
				for _, row := range f.rows {
					if row.ID > got && row.ID < firstWindowID {
						after++
					}
				}
				if after > 1 {
					t.Errorf("findAnchor() = %d leaves %d records before the window to list; want at most 1", got, after)
				}
			}
		})
	}
}
