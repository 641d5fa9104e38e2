package join

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// body builds a job_data body of the given records.
func body(recs ...string) []byte {
	return []byte(`{"data":[` + strings.Join(recs, ",") + `]}`)
}

// openIndex opens an index in a temporary directory and closes it after
// the test.
func openIndex(tb testing.TB, path string) *Index {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "join.idx")
	}
	x, err := OpenIndex(path)
	if err != nil {
		tb.Fatalf("OpenIndex(%s) = %v", path, err)
	}
	tb.Cleanup(func() { x.Close() })
	return x
}

func TestIndexAddReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "join.idx")
	x := openIndex(t, path)
	if err := x.Add(0, "", body(`{"a":1}`, `{"a":2}`), []int{2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(1, "", body(`{"a":3}`), []int{5}); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(0, "other.csv", body(`{"a":1}`), []int{2}); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(0, "", body(`{ "a" : 1 }`, `{"a":2}`), []int{2, 3}); err != nil {
		t.Errorf("Add(the same batch again) = %v; want nil", err)
	}
	if err := x.Add(0, "", body(`{"a":1}`, `{"a":9}`), []int{2, 3}); !errors.Is(err, ErrBatchChanged) {
		t.Errorf("Add(a changed batch) = %v; want ErrBatchChanged", err)
	}
	if err := x.Add(0, "", body(`{"a":1}`, `{"a":2}`), []int{2, 4}); !errors.Is(err, ErrBatchChanged) {
		t.Errorf("Add(a batch with other lines) = %v; want ErrBatchChanged", err)
	}
	before := x.Stats()
	if before.Sealed {
		t.Errorf("Stats().Sealed = true before Seal")
	}
	if err := x.Seal(); err != nil {
		t.Fatal(err)
	}
	x.Close()

	y := openIndex(t, path)
	got := y.Stats()
	want := IndexStats{Files: 2, Batches: 3, Records: 4, Bytes: before.Bytes + 8 + 13, Sealed: true}
	if got != want {
		t.Errorf("Stats() after reopening = %+v; want %+v", got, want)
	}
	if err := y.Add(1, "", body(`{"a":3}`), []int{5}); err != nil || !y.Stats().Sealed {
		t.Errorf("Add(a batch it holds) = %v, sealed %v; want nil, still sealed", err, y.Stats().Sealed)
	}
	if err := y.Add(2, "", body(`{"a":4}`), []int{6}); err != nil || y.Stats().Sealed {
		t.Errorf("Add(a new batch) = %v, sealed %v; want nil, unsealed", err, y.Stats().Sealed)
	}
}

func TestIndexAddErrors(t *testing.T) {
	x := openIndex(t, "")
	tests := []struct {
		name  string
		body  string
		lines []int
	}{
		{"not a body", `[1]`, nil},
		{"no data", `{"x":[1]}`, nil},
		{"empty", `{"data":[]}`, nil},
		{"bad record", `{"data":[{"a":}]}`, nil},
		{"fewer lines", `{"data":[{"a":1},{"a":2}]}`, []int{1}},
		{"more lines", `{"data":[{"a":1}]}`, []int{1, 2}},
		{"negative line", `{"data":[{"a":1}]}`, []int{-1}},
	}
	for _, tt := range tests {
		if err := x.Add(0, "", []byte(tt.body), tt.lines); err == nil {
			t.Errorf("Add(%s) = nil; want an error", tt.name)
		}
	}
	if got := x.Stats(); got.Batches != 0 || got.Files != 0 {
		t.Errorf("Stats() after failed Adds = %+v; want nothing indexed", got)
	}
	if err := x.Add(3, "", []byte(`{"name":"x","data":[{"a":1}]}`), nil); err != nil {
		t.Errorf("Add(data after another member) = %v", err)
	}
}

// TestIndexTornTail cuts the file at every length, as kill -9 may leave
// it: each opens, keeps the whole frames before the cut, and adding every
// batch again restores the index.
func TestIndexTornTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "full.idx")
	x := openIndex(t, path)
	batches := [][]string{{`{"a":1}`, `{"a":2}`}, {`{"a":3}`}, {`{"a":4}`, `{"a":5}`, `{"a":6}`}}
	addAll := func(x *Index) {
		t.Helper()
		for seq, recs := range batches {
			lines := make([]int, len(recs))
			for i := range lines {
				lines[i] = 10*seq + i + 1
			}
			if err := x.Add(seq, "in.csv", body(recs...), lines); err != nil {
				t.Fatal(err)
			}
		}
		if err := x.Seal(); err != nil {
			t.Fatal(err)
		}
	}
	addAll(x)
	full := x.Stats()
	x.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(data); n++ {
		p := filepath.Join(dir, fmt.Sprintf("cut%d.idx", n))
		if err := os.WriteFile(p, data[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		y, err := OpenIndex(p)
		if err != nil {
			t.Fatalf("OpenIndex(cut at %d) = %v", n, err)
		}
		st := y.Stats()
		if st.Sealed || st.Batches > len(batches) || n >= len(header) && st.Bytes+st.Cut != int64(n) {
			t.Errorf("cut at %d: Stats() = %+v", n, st)
		}
		addAll(y)
		if got := y.Stats(); got.Records != full.Records || got.Batches != full.Batches || !got.Sealed {
			t.Errorf("cut at %d, added again: Stats() = %+v; want %+v", n, got, full)
		}
		y.Close()
	}
	// A corrupt byte in the last frame is cut like a torn one.
	data[len(data)-1] ^= 0xff
	p := filepath.Join(dir, "corrupt.idx")
	os.WriteFile(p, data, 0o600)
	y := openIndex(t, p)
	if st := y.Stats(); st.Sealed || st.Cut != 8+13 {
		t.Errorf("corrupt seal: Stats() = %+v; want it cut, unsealed", st)
	}
}

func TestOpenIndexNotAnIndex(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, []byte("email_address,first_name\n"), 0o600)
	if _, err := OpenIndex(p); err == nil {
		t.Fatal("OpenIndex(a CSV file) = nil error; want one")
	}
	if data, _ := os.ReadFile(p); string(data) != "email_address,first_name\n" {
		t.Errorf("OpenIndex changed a file that is not an index: %q", data)
	}
}

// FuzzOpenIndex opens arbitrary bytes as an index: no panic, and whatever
// it keeps can be added to, sealed and reopened to the same state.
func FuzzOpenIndex(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.idx")
	x, _ := OpenIndex(seed)
	x.Add(0, "", body(`{"a":1}`, `{"a":2}`), []int{1, 2})
	x.Add(1, "b.csv", body(`{"a":3}`), []int{4})
	x.Seal()
	x.Close()
	data, _ := os.ReadFile(seed)
	f.Add(data)
	f.Add(data[:len(data)-3])
	f.Add([]byte(header))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.idx")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		x, err := OpenIndex(p)
		if err != nil {
			return
		}
		defer x.Close()
		before := x.Stats()
		if before.Sealed {
			if _, err := NewResolver(x, ResolverConfig{}); err != nil {
				t.Errorf("NewResolver(sealed index) = %v", err)
			}
		}
		if err := x.Add(1<<40, "fuzz", body(`{"z":1}`), []int{7}); err != nil && !errors.Is(err, ErrBatchChanged) {
			t.Fatalf("Add after opening = %v", err)
		}
		if err := x.Seal(); err != nil {
			t.Fatal(err)
		}
		mid := x.Stats()
		x.Close()
		y, err := OpenIndex(p)
		if err != nil {
			t.Fatalf("reopening = %v", err)
		}
		defer y.Close()
		if got := y.Stats(); got.Batches != mid.Batches || got.Records != mid.Records || !got.Sealed || got.Cut != 0 {
			t.Errorf("reopened: Stats() = %+v; want %+v", got, mid)
		}
	})
}
