package chunker

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets check round trips: the records in the batches, in order,
// are exactly the input's valid records, found by an independent oracle
// (encoding/json, encoding/csv), and every bad record is accounted for.

const fuzzMaxRecord = 64

// records decodes the batches of res back into their records.
func records(tb testing.TB, res result) []json.RawMessage {
	tb.Helper()
	var out []json.RawMessage
	for _, b := range res.all {
		var env struct{ Data []json.RawMessage }
		if !json.Valid(b.Body) {
			tb.Fatalf("batch %d body is not JSON: %q", b.Seq, b.Body)
		}
		if err := json.Unmarshal(b.Body, &env); err != nil || len(env.Data) != b.Records {
			tb.Fatalf("batch %d: %v, %d records; want %d", b.Seq, err, len(env.Data), b.Records)
		}
		out = append(out, env.Data...)
	}
	return out
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{
		"{\"a\":1}\n{\"b\":[2]}\n", "\xef\xbb\xbf{}\r\n\n  \n[1]\n{\"a\":\"\xff\"}", "{\"a\":1} x\n{}{}\n\"s\"\n",
		`{"a":"` + strings.Repeat("x", 70) + "\"}\n{}\n", "{\"a\":\"\\u00e9\"}\r\r\n\t{} \n",
	} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, in []byte, maxRecords uint8) {
		if readOtherwise(in) {
			return
		}
		cfg := Config{Format: FormatJSONL, MaxRejects: -1, MaxRecordBytes: fuzzMaxRecord, MaxRecords: int(maxRecords%5) + 1}
		res := run(t, bytes.NewReader(in), cfg)
		if res.err != nil {
			t.Fatalf("error %v", res.err)
		}
		var want [][]byte
		bad := 0
		for _, line := range bytes.Split(bytes.TrimPrefix(in, []byte("\xef\xbb\xbf")), []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\r"))
			rec := bytes.Trim(line, " \t\r\n")
			switch {
			case len(line) > fuzzMaxRecord:
				bad++
			case len(rec) == 0:
			case rec[0] == '{' && json.Valid(rec) && utf8.Valid(rec):
				want = append(want, rec)
			default:
				bad++
			}
		}
		got := records(t, res)
		if len(got) != len(want) || int(res.stats.Rejects) != bad {
			t.Fatalf("got %d records, %d rejects; want %d, %d", len(got), res.stats.Rejects, len(want), bad)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("record %d = %q; want %q", i, got[i], want[i])
			}
		}
	})
}

func FuzzJSONArray(f *testing.F) {
	for _, s := range []string{
		`[{"a":1},{"b":[2,{"c":null}]}]`, "\xef\xbb\xbf [ {} , 1, \"s\", [{}], {\"a\":\"\xff\"} ]\n", `[{"a":1},]`, `[{"a"`,
		`[{"big":"` + strings.Repeat("x", 70) + `"},{}]`, `[]`, "[\n{\"a\":\"]\\\"}\"}\n]\n",
	} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, in []byte, maxRecords uint8) {
		if readOtherwise(in) {
			return
		}
		cfg := Config{Format: FormatJSONArray, MaxRejects: -1, MaxRecordBytes: fuzzMaxRecord, MaxRecords: int(maxRecords%5) + 1}
		res := run(t, bytes.NewReader(in), cfg)
		got := records(t, res)
		for i, r := range got {
			if r[0] != '{' || !utf8.Valid(r) || len(r) > fuzzMaxRecord {
				t.Fatalf("record %d = %q is not a valid record", i, r)
			}
		}
		doc := bytes.TrimPrefix(in, []byte("\xef\xbb\xbf"))
		var elems []json.RawMessage
		isArray := bytes.HasPrefix(bytes.TrimLeft(doc, " \t\r\n"), []byte("["))
		if !isArray || !json.Valid(doc) || json.Unmarshal(doc, &elems) != nil {
			// Not an array: the stream must fail, unless the fault hid in
			// an element too large to be read.
			if res.err == nil && res.stats.Rejects == 0 {
				t.Fatalf("invalid input accepted: %d records", len(got))
			}
			return
		}
		if res.err != nil {
			t.Fatalf("valid array: error %v", res.err)
		}
		var want []json.RawMessage
		for _, e := range elems {
			if e[0] == '{' && utf8.Valid(e) && len(e) <= fuzzMaxRecord {
				want = append(want, e)
			}
		}
		if len(got) != len(want) || int(res.stats.Rejects) != len(elems)-len(want) {
			t.Fatalf("got %d records, %d rejects; want %d, %d", len(got), res.stats.Rejects, len(want), len(elems)-len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("record %d = %q; want %q", i, got[i], want[i])
			}
		}
	})
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"a,b.c,b.d\n1,2,3\n,,\n\"x\ny\",\"q\"\"\",\n", "a\r\n\"1\r\n2\"\r\n\r\n3\r", "a,a\n1,2\n", "a,b\n1\n1,2,3\nx\"y,1\n\"x\"y,1\n",
		"a.b,a\n", "k\n\xff\n\"\xc3\xa9\"\n", "\xef\xbb\xbfa\tb\n1\t2\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, tsv bool) {
		if readOtherwise(in) {
			return
		}
		cfg := Config{Format: FormatCSV, Delimiter: ',', MaxRejects: -1, MaxRecords: 3}
		comma := ','
		if tsv {
			cfg.Format, cfg.Delimiter, comma = FormatTSV, 0, '\t'
		}
		res := run(t, bytes.NewReader(in), cfg)
		got := records(t, res)

		doc := bytes.TrimPrefix(in, []byte("\xef\xbb\xbf"))
		if crOnly(doc) {
			doc = bytes.ReplaceAll(doc, []byte("\r"), []byte("\n"))
		}
		cr := csv.NewReader(bytes.NewReader(doc))
		cr.Comma, cr.FieldsPerRecord = comma, -1
		rows, err := cr.ReadAll()
		if err != nil {
			return // bad quoting: outcomes differ in where they resume
		}
		if len(rows) == 0 {
			if res.err != nil || len(got) != 0 {
				t.Fatalf("no rows: got %d records, error %v", len(got), res.err)
			}
			return
		}
		header, ok := csvOracleHeader(rows[0])
		if !ok {
			if !errors.Is(res.err, ErrHeader) {
				t.Fatalf("header %q: error %v; want ErrHeader", rows[0], res.err)
			}
			return
		}
		if res.err != nil {
			t.Fatalf("error %v", res.err)
		}
		var want []map[string]any
		bad := 0
		for _, row := range rows[1:] {
			if strings.Join(row, "") == "" {
				continue
			}
			if len(row) != len(header) || !utf8.ValidString(strings.Join(row, "")) {
				bad++
				continue
			}
			obj := map[string]any{}
			for i, path := range header {
				if row[i] == "" {
					continue
				}
				m := obj
				for _, k := range path[:len(path)-1] {
					if m[k] == nil {
						m[k] = map[string]any{}
					}
					m = m[k].(map[string]any)
				}
				m[path[len(path)-1]] = row[i]
			}
			want = append(want, obj)
		}
		if len(got) != len(want) || int(res.stats.Rejects) != bad {
			t.Fatalf("got %d records, %d rejects; want %d, %d", len(got), res.stats.Rejects, len(want), bad)
		}
		for i := range got {
			var m map[string]any
			if err := json.Unmarshal(got[i], &m); err != nil || !reflect.DeepEqual(m, want[i]) {
				t.Fatalf("record %d = %s; want %v", i, got[i], want[i])
			}
		}
	})
}

// isGzip reports whether in starts with gzip's magic bytes, which make the
// chunker decompress it (TestGzip covers that).
func isGzip(in []byte) bool { return bytes.HasPrefix(in, []byte{0x1f, 0x8b}) }

// readOtherwise reports whether in starts with bytes that make the chunker
// read it otherwise than as it is, which other tests cover: gzip's magic
// bytes (decompressed, TestGzip), a UTF-16 byte order mark (decoded,
// TestDialects, FuzzDialect) or a workbook's magic bytes (refused,
// TestDialects).
func readOtherwise(in []byte) bool {
	for _, magic := range []string{"\x1f\x8b", "\xff\xfe", "\xfe\xff", "PK\x03\x04", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"} {
		if bytes.HasPrefix(in, []byte(magic)) {
			return true
		}
	}
	return false
}

// csvOracleHeader splits header names on '.', or reports them invalid.
func csvOracleHeader(names []string) ([][]string, bool) {
	var paths [][]string
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] || !utf8.ValidString(n) {
			return nil, false
		}
		seen[n] = true
		p := strings.Split(n, ".")
		for _, seg := range p {
			if seg == "" {
				return nil, false
			}
		}
		paths = append(paths, p)
	}
	for i, a := range paths {
		for j, b := range paths {
			if i != j && len(a) < len(b) && reflect.DeepEqual(a, b[:len(a)]) {
				return nil, false // a is both a value and an object
			}
		}
	}
	return paths, true
}

// crOnly reports whether the chunker reads doc with CR line endings: its
// first line ending is a '\r' not followed by '\n'.
func crOnly(doc []byte) bool {
	i := bytes.IndexAny(doc, "\r\n")
	return i >= 0 && doc[i] == '\r' && (i+1 == len(doc) || doc[i+1] != '\n')
}
