package chunker

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gzipped(tb testing.TB, s string) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func TestGzip(t *testing.T) {
	in := "{\"a\":1}\n{\"b\":2}\n"
	z := gzipped(t, in)
	res := run(t, bytes.NewReader(z), Config{})
	res.check(t, []string{`[{"a":1},{"b":2}]`}, nil, "")
	if res.stats.Bytes != int64(len(in)) || res.stats.InputBytes != int64(len(z)) {
		t.Errorf("Stats() = %+v; want Bytes %d, InputBytes %d", res.stats, len(in), len(z))
	}

	// Concatenated members are one stream, as with gzip(1).
	two := append(gzipped(t, "a,b\n1,2\n"), gzipped(t, "3,4\n")...)
	run(t, bytes.NewReader(two), Config{Source: "x.csv.gz"}).check(t, []string{`[{"a":"1","b":"2"},{"a":"3","b":"4"}]`}, nil, "")

	// A truncated stream fails naming the source, wrapping io.ErrUnexpectedEOF.
	big := gzipped(t, strings.Repeat("{\"a\":\"0123456789\"}\n", 10000))
	res = run(t, bytes.NewReader(big[:len(big)/2]), Config{Source: "p.jsonl.gz"})
	if !errors.Is(res.err, io.ErrUnexpectedEOF) || !strings.Contains(errString(res.err), "p.jsonl.gz") {
		t.Errorf("error = %v; want io.ErrUnexpectedEOF naming p.jsonl.gz", res.err)
	}

	if _, err := New(bytes.NewReader([]byte{0x1f, 0x8b, 0}), Config{Source: "bad.gz"}); err == nil || !strings.Contains(err.Error(), "bad.gz") {
		t.Errorf("New(bad gzip header) = %v; want an error naming bad.gz", err)
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("{}\n{\"a\""), &errReader{boom})
	res := run(t, r, Config{Source: "s"})
	if !errors.Is(res.err, boom) || errString(res.err) != "chunker: s: read: boom" {
		t.Errorf("error = %v; want chunker: s: read: boom", res.err)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func TestFormatDetection(t *testing.T) {
	tests := []struct {
		source, in string
		want       Format
		err        error
	}{
		{"people.jsonl", "[1]\n", FormatJSONL, nil},
		{"people.ndjson.gz", "{}", FormatJSONL, nil},
		{"people.json", " \n[{}]", FormatJSONArray, nil},
		{"people.json", "{}\n{}", FormatJSONL, nil},
		{"PEOPLE.CSV", "a\n1\n", FormatCSV, nil},
		{"people.tsv", "a\n1\n", FormatTSV, nil},
		{"stdin", "\xef\xbb\xbf[]", FormatJSONArray, nil},
		{"stdin", "", FormatJSONL, nil},
		{"stdin", "a,b\n", FormatCSV, nil},
		{"export.txt", "a;b\n1;2\n", FormatCSV, nil},
		{"stdin", "\x00a\x00,\x00b", FormatAuto, ErrFormat},
		{"stdin", "\xff\xfea\x00,\x00b\x00\n\x00", FormatCSV, nil},
		{"people.csv", "PK\x03\x04\x14\x00\x06\x00", FormatAuto, ErrFormat},
		{"people.json", "{\"data\": [{}]}", FormatJSONArray, nil},
		{"people.json", "{\n  \"a\": 1\n}\n", FormatAuto, ErrFormat},
	}
	for _, tt := range tests {
		c, err := New(strings.NewReader(tt.in), Config{Source: tt.source})
		if !errors.Is(err, tt.err) {
			t.Errorf("New(%s, %q) error = %v; want %v", tt.source, tt.in, err, tt.err)
			continue
		}
		if err == nil && c.Format() != tt.want {
			t.Errorf("New(%s, %q).Format() = %v; want %v", tt.source, tt.in, c.Format(), tt.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for s, want := range map[string]Format{"": FormatAuto, "auto": FormatAuto, "JSONL": FormatJSONL, "ndjson": FormatJSONL, "json": FormatJSONArray, "array": FormatJSONArray, "csv": FormatCSV, "tsv": FormatTSV} {
		if got, err := ParseFormat(s); got != want || err != nil {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) succeeded; want an error")
	}
	for f := FormatAuto; f <= FormatTSV; f++ {
		if got, _ := ParseFormat(f.String()); got != f {
			t.Errorf("ParseFormat(%v.String()) = %v", f, got)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{MaxRecords: 5001},
		{MaxRecords: -1},
		{MaxRejects: -2},
		{MaxRecordBytes: 100, MaxBatchBytes: 105},
		{MaxRecordBytes: 1},
		{Format: 9},
	} {
		if _, err := New(strings.NewReader(""), cfg); err == nil {
			t.Errorf("New(%+v) succeeded; want an error", cfg)
		}
	}
	// The default record cap shrinks to fit a small batch cap.
	if _, err := New(strings.NewReader(""), Config{MaxBatchBytes: 1000}); err != nil {
		t.Errorf("New(MaxBatchBytes 1000) = %v; want nil", err)
	}
}

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "people.csv.gz")
	if err := os.WriteFile(path, gzipped(t, "a\n1\n\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(); err == nil || !strings.HasPrefix(err.Error(), path+":3:1: ") {
		t.Errorf("Next() = %v; want an error naming %s:3:1", err, path)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.jsonl"), Config{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v; want os.ErrNotExist", err)
	}
}
