package chunker

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestJSONArray(t *testing.T) {
	all := Config{MaxRejects: -1}
	tests := []struct {
		name    string
		in      string
		cfg     Config
		batches []string
		rejects []string
		err     string
	}{
		{name: "empty array", in: "[]"},
		{name: "empty array, spaced", in: " \n[ \n ] \n"},
		{name: "one", in: `[{"a":1}]`, batches: []string{`[{"a":1}]`}},
		{name: "BOM", in: "\xef\xbb\xbf[{\"a\":1}]", batches: []string{`[{"a":1}]`}},
		{
			name:    "pretty-printed, bytes kept",
			in:      "[\n  {\n    \"a\": [1, {\"b\": null}]\n  },\r\n  {\"c\":\"d\\\"\"}\n]\n",
			batches: []string{"[{\n    \"a\": [1, {\"b\": null}]\n  },{\"c\":\"d\\\"\"}]"},
		},
		{name: "MaxRecords", in: `[{},{},{}]`, cfg: Config{MaxRecords: 2}, batches: []string{`[{},{}]`, `[{}]`}},
		{
			name: "non-objects are rejected",
			in:   "[{}, 1, \"s\", [{}], null,\n {\"a\":\"\xff\"}, {\"b\":2}]",
			cfg:  all, batches: []string{`[{},{"b":2}]`},
			rejects: []string{
				"1:6: record is not a JSON object",
				"1:9: record is not a JSON object",
				"1:14: record is not a JSON object",
				"1:20: record is not a JSON object",
				`2:8: invalid UTF-8: invalid UTF-8 byte "\xff" in string (try --encoding windows-1252)`,
			},
		},
		{name: "stop at first bad element", in: `[{},2,{}]`, err: "input:1:5: record is not a JSON object"},
		{
			name: "too large is skipped",
			in:   `[{"a":"0123456789"},{"b":{"c":"]}"}},{}]`,
			cfg:  Config{MaxRecordBytes: 12, MaxRejects: -1}, batches: []string{`[{}]`},
			rejects: []string{"1:2: record too large", "1:21: record too large"},
		},
		{name: "truncated", in: "[{\"a\":1},\n{\"b\":", cfg: all, err: "input:2:6: invalid JSON: unexpected end of input: the JSON array is not closed"},
		{name: "not closed", in: `[{"a":1}`, cfg: all, err: "input:1:9: invalid JSON: unexpected end of input: the JSON array is not closed"},
		{name: "not closed after comma", in: `[{"a":1},`, cfg: all, err: "input:1:10: invalid JSON: unexpected end of input: the JSON array is not closed"},
		{name: "trailing comma", in: `[{},]`, cfg: all, err: "input:1:5: invalid JSON: invalid character ']' looking for beginning of value"},
		{name: "syntax error in element", in: `[{"a" 1}]`, cfg: all, err: "input:1:7: invalid JSON: invalid character '1' after object key"},
		{name: "missing comma", in: `[{} {}]`, cfg: all, err: "input:1:5: invalid JSON: invalid character '{' after array element"},
		{name: "data after array", in: "[{}]\n{}", cfg: all, err: "input:2:1: invalid JSON: invalid character '{' after top-level value"},
		{name: "not an array", in: `{"a":1}`, cfg: Config{Format: FormatJSONArray}, err: "input:1:1: invalid JSON: invalid character '{' looking for the '[' that starts a JSON array"},
		{name: "empty input", in: "", cfg: Config{Format: FormatJSONArray}, err: "input:1:1: invalid JSON: unexpected end of input: the JSON array is not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Format == FormatAuto {
				tt.cfg.Format = FormatJSONArray
			}
			runString(t, tt.in, tt.cfg).check(t, tt.batches, tt.rejects, tt.err)
		})
	}
}

func TestJSONArrayStreams(t *testing.T) {
	// Elements cross buffer refills at every possible point.
	var sb strings.Builder
	sb.WriteString("[\n")
	for i := range 500 {
		if i > 0 {
			sb.WriteString(",\n")
		}
		sb.WriteString(`{"i":` + strings.Repeat("9", i%5+1) + `,"s":"` + strings.Repeat("ü", i%40) + `"}`)
	}
	sb.WriteString("\n]\n")
	in := sb.String()
	cfg := Config{MaxRecords: 64, Format: FormatJSONArray}
	want := runString(t, in, cfg)
	if want.err != nil || want.stats.Records != 500 || want.stats.Lines != 502 {
		t.Fatalf("got %+v, error %v; want 500 records on 502 lines", want.stats, want.err)
	}
	if b := want.all[1]; b.FirstLine != 66 || b.LastLine != 129 || b.Offset != want.all[0].End {
		t.Errorf("batch 1 lines %d-%d from %d; want 66-129 from %d", b.FirstLine, b.LastLine, b.Offset, want.all[0].End)
	}
	got := run(t, iotest.OneByteReader(strings.NewReader(in)), cfg)
	got.check(t, want.batches, nil, "")
}

func TestJSONArrayHugeElement(t *testing.T) {
	r := io.MultiReader(
		strings.NewReader(`[{"a":1}, {"big":["`),
		io.LimitReader(repeatReader('x'), 20<<20),
		strings.NewReader(`"]}, {"b":2}]`),
	)
	c, err := New(r, Config{Format: FormatJSONArray, MaxRejects: 1, MaxRecordBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Next()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b.Body), `{"data":[{"a":1},{"b":2}]}`; got != want {
		t.Errorf("Body = %s; want %s", got, want)
	}
	if _, err := c.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next() = %v; want io.EOF", err)
	}
	if n := cap(c.in.buf); n > 128<<10 {
		t.Errorf("read buffer grew to %d bytes; want at most 128 KiB", n)
	}
}

func TestSkipper(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		done bool
	}{
		{`{"a":"}\"]"}, x`, 12, true},
		{`[[1],[2]]]`, 9, true},
		{`"a\\"b`, 5, true},
		{`123,`, 3, true},
		{`true]`, 4, true},
		{`{"a":[`, 6, false},
	}
	for _, tt := range tests {
		var s skipper
		n, done := s.feed([]byte(tt.in))
		if n != tt.n || done != tt.done {
			t.Errorf("feed(%q) = %d, %v; want %d, %v", tt.in, n, done, tt.n, tt.done)
		}
	}
}
