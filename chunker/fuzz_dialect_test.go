package chunker

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// FuzzDialect covers the options of spreadsheet exports. For any input and
// options it checks, against runs of the chunker without them:
//   - Encoding windows-1252 gives the records of the input decoded first
//     by x/text;
//   - a Map that renames the first column into a nested field, drops the
//     second and sets a constant, and an UpsertKey, change each record just
//     so (checked against encoding/json maps);
//   - Batch.Lines has one strictly growing line per record, from FirstLine;
//   - detection (format, delimiter, encoding by byte order mark, wrappers)
//     never panics, and its batches carry right Lines too.
func FuzzDialect(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n1,2,3\n4,,6\n", "Name;Stadt\nM\xfcller;K\xf6ln\n", "x\ty\r1\t2\r", "a|b\n\"1|\n2\"|3\n",
		"_line,_error,a\n2,bad,1\n", "{\"data\":[{}]}", "a,b\n\x80,\x9f\n", "\xff\xfea\x00,\x00b\x00\n\x001\x00,\x002\x00",
	} {
		f.Add([]byte(s), uint8(0), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, delim uint8, mapped bool) {
		if isGzip(in) {
			return
		}
		comma := rune(delimiters[int(delim)%len(delimiters)])
		base := Config{Format: FormatCSV, Delimiter: comma, MaxRejects: -1, MaxRecords: 3, RecordLines: true}

		// Detection must not panic.
		auto := run(t, bytes.NewReader(in), Config{Source: "stdin", MaxRejects: -1, RecordLines: true})
		checkLines(t, auto)

		// UpsertKey on JSON Lines: the same records, each with an upsert_key.
		jl := Config{Format: FormatJSONL, MaxRejects: -1, MaxRecords: 3, RecordLines: true}
		plainJSON := run(t, bytes.NewReader(in), jl)
		jl.UpsertKey = "id"
		keyed := run(t, bytes.NewReader(in), jl)
		checkLines(t, keyed)
		if errString(plainJSON.err) != errString(keyed.err) || plainJSON.stats.Records != keyed.stats.Records {
			t.Fatalf("UpsertKey: %d records, error %v; without: %d, %v", keyed.stats.Records, keyed.err, plainJSON.stats.Records, plainJSON.err)
		}
		for i, r := range records(t, keyed) {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil || m["upsert_key"] == nil || m["upsert_key"] == "" {
				t.Fatalf("UpsertKey: record %d = %s has no upsert_key", i, r)
			}
		}

		// Encoding: the same records as the input decoded beforehand.
		cfg := base
		cfg.Encoding = EncodingWindows1252
		got := run(t, bytes.NewReader(in), cfg)
		checkLines(t, got)
		if isUTF16BOM(in) || bytes.HasPrefix(in, []byte("\xef\xbb\xbf")) {
			return // a byte order mark contradicts the encoding: an error, tested elsewhere
		}
		decoded, err := charmap.Windows1252.NewDecoder().Bytes(in)
		if err != nil {
			t.Fatal(err)
		}
		plain := run(t, bytes.NewReader(decoded), base)
		if errString(got.err) != errString(plain.err) || !reflect.DeepEqual(got.batches, plain.batches) {
			t.Fatalf("windows-1252: got %q, %v; decoded first: %q, %v", got.batches, got.err, plain.batches, plain.err)
		}
		if !mapped || plain.err != nil || len(plain.all) == 0 || bytes.IndexByte(decoded, '\r') >= 0 {
			// (encoding/csv, the header's oracle, knows no CR-only lines)
			return
		}

		// Mapping, on the decoded input.
		cr := csv.NewReader(bytes.NewReader(decoded))
		cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = comma, -1, true
		header, err := cr.Read()
		if err != nil || len(header) < 2 || header[0] == header[1] {
			return
		}
		for _, h := range header {
			if strings.Contains(h, ".") || h == "m" || h == "k" || h == "upsert_key" || strings.HasPrefix(h, "_") ||
				strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(header[0])) && h != header[0] ||
				strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(header[1])) && h != header[1] {
				return // names the mapping or the test's oracle would trip on
			}
		}
		mcfg := base
		mcfg.Map = []MapEntry{{Column: header[0], Field: "m.x"}, {Column: header[1]}, {Field: "k", Value: "v"}}
		mcfg.UpsertKey = "email_address"
		mres := run(t, bytes.NewReader(decoded), mcfg)
		if mres.err != nil {
			t.Fatalf("mapped: error %v", mres.err)
		}
		want, have := records(t, plain), records(t, mres)
		if len(want) != len(have) {
			t.Fatalf("mapped: %d records; want %d", len(have), len(want))
		}
		for i := range want {
			var w, h map[string]any
			if json.Unmarshal(want[i], &w) != nil || json.Unmarshal(have[i], &h) != nil {
				t.Fatalf("record %d: not JSON objects: %s, %s", i, want[i], have[i])
			}
			if v, ok := w[header[0]]; ok {
				w["m"] = map[string]any{"x": v}
			}
			delete(w, header[0])
			delete(w, header[1])
			w["k"], w["upsert_key"] = "v", "email_address"
			if !reflect.DeepEqual(w, h) {
				t.Fatalf("record %d mapped = %s; want %v", i, have[i], w)
			}
		}
	})
}

func isUTF16BOM(in []byte) bool {
	return bytes.HasPrefix(in, []byte("\xff\xfe")) || bytes.HasPrefix(in, []byte("\xfe\xff"))
}

// checkLines checks Batch.Lines against the batch's records and lines.
func checkLines(tb testing.TB, res result) {
	tb.Helper()
	prev := 0
	for _, b := range res.all {
		if len(b.Lines) != b.Records || b.Lines[0] != b.FirstLine {
			tb.Fatalf("batch %d: Lines %v for %d records from line %d", b.Seq, b.Lines, b.Records, b.FirstLine)
		}
		for _, l := range b.Lines {
			if l <= prev || l > b.LastLine {
				tb.Fatalf("batch %d: Lines %v not growing within %d-%d", b.Seq, b.Lines, b.FirstLine, b.LastLine)
			}
			prev = l
		}
	}
}

// FuzzMapping feeds arbitrary mapping files, types and upsert keys with
// arbitrary input: New and Next may fail, with a *RecordError or a
// sentinel, but never panic, and every batch is well formed.
func FuzzMapping(f *testing.F) {
	for _, s := range [][2]string{
		{"a,b,c\n1,2,3\n", "a=email_address\nb=\n\"x\"=custom_fields.c"},
		{"Email Address;upsert_key\nx@y;email_address\n;\n", "email address=email_address"},
		{"_line,_error,a\n2,e,1\n", "\"1\"=b\n\"2\"=b"},
		{"id,i_cal_uid\n1,2\n", "id=id\nid=x"},
		{"{\"id\":1}\n{\"upsert_key\":null}\n", ""},
	} {
		f.Add([]byte(s[0]), s[1], uint8(1), uint8(3))
	}
	types := []string{"", "person/upsert", "calendar/events/upsert", "crm_share/upsert"}
	keys := []string{"", "id", "crm_id", "email_address", "name"}
	f.Fuzz(func(t *testing.T, in []byte, spec string, typ, key uint8) {
		if isGzip(in) {
			return
		}
		m, err := ParseMapFile(strings.NewReader(spec), "fuzz.map")
		if err != nil {
			return
		}
		cfg := Config{
			Source: "stdin", Map: m, MaxRejects: -1, MaxRecords: 3, RecordLines: true,
			Type: types[int(typ)%len(types)], UpsertKey: keys[int(key)%len(keys)],
		}
		res := run(t, bytes.NewReader(in), cfg)
		checkLines(t, res)
		records(t, res)
	})
}
