package manifest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() *Manifest {
	return &Manifest{
		JobID:   42,
		JobType: "person/upsert",
		Input:   Input{Path: "people.jsonl", Size: 1234, ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Fingerprint: "ab12", Format: "jsonl"},
		Chunking: Chunking{MaxRecords: 5000, MaxBatchBytes: 8 << 20,
			Options: map[string]string{"compact": "true"}},
		Upload: Upload{Started: true, BaseTotal: 3, AckedBelow: 7, PrefixDigest: "ff", AckedRecords: 700,
			Acked: []Batch{{Seq: 9, Records: 100, Hash: "aa"}}, SentBelow: 11,
			Sent: []Batch{{Seq: 8, Records: 100, Hash: "bb"}}, Recent: []int{6, 9}, Anchor: 77, AnchorRecords: 3},
		Poll:  Poll{Cursor: 99},
		Extra: map[string]string{"flag": "x"},
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	m := sample()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("Load() = %+v; want %+v", got, m)
	}
	// Saving again replaces the file and leaves no temporary behind.
	m.Upload.AckedBelow = 12
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Errorf("state dir holds %v; want only %s", entries, FileName)
	}
	if got, _ := Load(dir); got.Upload.AckedBelow != 12 {
		t.Errorf("AckedBelow after second save = %d; want 12", got.Upload.AckedBelow)
	}
}

func TestSaveModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := sample().Save(dir); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{dir: 0o700, filepath.Join(dir, FileName): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %v; want %v", path, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(empty dir) = %v; want fs.ErrNotExist", err)
	}
	for name, content := range map[string]string{
		"damaged": `{"version": 1, "job_id": `,
		"version": `{"version": 99, "job_id": 1}`,
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, FileName), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(d); err == nil {
				t.Errorf("Load(%s) = nil error", name)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	m := sample()
	tests := []struct {
		name  string
		in    Input
		ch    Chunking
		wants []string // substrings of the error; none = match
	}{
		{"same", m.Input, m.Chunking, nil},
		{"moved and touched", Input{Path: "elsewhere", Size: 1234, Fingerprint: "ab12", Format: "jsonl"}, m.Chunking, nil},
		{"grown", Input{Size: 2000, Fingerprint: "cd34", Format: "jsonl"}, m.Chunking,
			[]string{"input size is 2000, the manifest has 1234", "input fingerprint"}},
		{"format", Input{Size: 1234, Fingerprint: "ab12", Format: "csv"}, m.Chunking, []string{`input format is "csv"`}},
		{"batch size", m.Input, Chunking{MaxRecords: 100, MaxBatchBytes: 8 << 20, Options: map[string]string{"compact": "true"}},
			[]string{"records per batch is 100, the manifest has 5000"}},
		{"option", m.Input, Chunking{MaxRecords: 5000, MaxBatchBytes: 8 << 20}, []string{"chunking option compact"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Check(tt.in, tt.ch)
			if len(tt.wants) == 0 {
				if err != nil {
					t.Errorf("Check() = %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("Check() = %v; want ErrMismatch", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check() = %q; want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	m := sample()
	c := m.Clone()
	c.Upload.Acked[0].Seq = 1000
	c.Upload.Recent[0] = 1000
	c.Extra["flag"] = "y"
	c.Chunking.Options["compact"] = "false"
	if !reflect.DeepEqual(m, sample()) {
		t.Errorf("changing the clone changed the original: %+v", m)
	}
}

func TestIsAcked(t *testing.T) {
	u := sample().Upload
	for seq, want := range map[int]bool{0: true, 6: true, 7: false, 8: false, 9: true, 10: false} {
		if got := u.IsAcked(seq); got != want {
			t.Errorf("IsAcked(%d) = %v; want %v", seq, got, want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*fingerprintSpan/16) // 3 MiB
	fp := func(b []byte) string {
		t.Helper()
		s, err := Fingerprint(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := fp(big)
	if fp(append([]byte(nil), big...)) != base {
		t.Error("Fingerprint is not deterministic")
	}
	changed := func(name string, b []byte) {
		if fp(b) == base {
			t.Errorf("Fingerprint does not see %s", name)
		}
	}
	head := append([]byte(nil), big...)
	head[10] = 'X'
	changed("a change at the start", head)
	tail := append([]byte(nil), big...)
	tail[len(tail)-10] = 'X'
	changed("a change at the end", tail)
	changed("an appended line", append(append([]byte(nil), big...), '\n'))
	changed("a truncation", big[:len(big)-1])
	if fp(nil) == fp([]byte("x")) {
		t.Error("Fingerprint of empty and one byte agree")
	}
	small := []byte("short file")
	alt := []byte("short fil3")
	if fp(small) == fp(alt) {
		t.Error("Fingerprint of a small file does not cover all of it")
	}
}

func TestInputOf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte("{\"a\":1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := InputOf(path, "jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if in.Size != 8 || in.Path != path || in.Format != "jsonl" || len(in.Fingerprint) != 64 || in.ModTime.IsZero() {
		t.Errorf("InputOf() = %+v", in)
	}
}
