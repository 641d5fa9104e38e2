package chunker

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCSV(t *testing.T) {
	all := Config{MaxRejects: -1}
	tests := []struct {
		name    string
		in      string
		cfg     Config
		batches []string
		rejects []string
		err     string
	}{
		{name: "empty"},
		{name: "header only", in: "a,b\n"},
		{name: "simple", in: "a,b\n1,2\n3,4\n", batches: []string{`[{"a":"1","b":"2"},{"a":"3","b":"4"}]`}},
		{name: "no final newline", in: "a,b\n1,2", batches: []string{`[{"a":"1","b":"2"}]`}},
		{name: "CRLF and BOM", in: "\xef\xbb\xbfa,b\r\n1,2\r\n", batches: []string{`[{"a":"1","b":"2"}]`}},
		{name: "empty cells are left out", in: "a,b,c\n,2,\n", batches: []string{`[{"b":"2"}]`}},
		{name: "blank and all-empty rows are skipped", in: "a,b\n\n1,2\n,\n\"\",\n\r\n3,4\n", batches: []string{`[{"a":"1","b":"2"},{"a":"3","b":"4"}]`}},
		{
			name:    "dotted headers nest, in first-seen order",
			in:      "email,custom_fields.source,name,custom_fields.x.y,custom_fields.z\ne@x.com,web,Ann,deep,z\nf@x.com,,Bob,,\n",
			batches: []string{`[{"email":"e@x.com","custom_fields":{"source":"web","x":{"y":"deep"},"z":"z"},"name":"Ann"},{"email":"f@x.com","name":"Bob"}]`},
		},
		{
			name:    "quoting",
			in:      "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"multi\nline\",\"crlf\r\nin quotes\"\n",
			batches: []string{`[{"a":"x,y","b":"say \"hi\""},{"a":"multi\nline","b":"crlf\nin quotes"}]`},
		},
		{
			name:    "values are escaped JSON strings",
			in:      "k\n\"tab\there\\ \"\"q\"\" \x01 ü\"\n",
			batches: []string{`[{"k":"tab\there\\ \"q\" \u0001 ü"}]`},
		},
		{name: "values are never numbers", in: "n,b\n42,true\n", batches: []string{`[{"n":"42","b":"true"}]`}},
		{name: "header keys are escaped", in: "\"a\"\"b\",c\\d\n1,2\n", batches: []string{`[{"a\"b":"1","c\\d":"2"}]`}},
		{
			name: "bad rows are rejected",
			in:   "a,b\n1,2,3\n1\nx\"y,2\n\"x\"y,2\n\"ok\",\"\xff\"\n5,6\n\"open,7\n",
			cfg:  all, batches: []string{`[{"a":"5","b":"6"}]`},
			rejects: []string{
				"2:1: wrong number of fields: row has 3 fields, header has 2",
				"3:1: wrong number of fields: row has 1 fields, header has 2",
				`4:2: bare " in non-quoted field`,
				`5:4: extraneous or missing " in quoted field`,
				"6:7: invalid UTF-8 (try --encoding windows-1252)",
				`8:1: extraneous or missing " in quoted field`,
			},
		},
		{name: "stop at first bad row", in: "a,b\n1,2\n3\n", err: "input:3:1: wrong number of fields: row has 1 fields, header has 2"},
		{
			name: "row numbers count the header and quoted newlines",
			in:   "a\n\"1\n2\"\nx\"\n",
			cfg:  all, batches: []string{`[{"a":"1\n2"}]`},
			rejects: []string{`4:2: bare " in non-quoted field`},
		},
		{
			name: "too large",
			in:   "a\n0123456789X\n\"01234\n56789\"\nok\n",
			cfg:  Config{MaxRecordBytes: 10, MaxRejects: -1}, batches: []string{`[{"a":"ok"}]`},
			rejects: []string{"2:11: record too large", "3:11: record too large"},
		},
		{
			name: "too large as JSON",
			in:   "abcdef\n12\n1\n",
			cfg:  Config{MaxRecordBytes: 14, MaxRejects: -1}, batches: []string{`[{"abcdef":"1"}]`},
			rejects: []string{"2:1: record too large: as JSON"},
		},
		{name: "MaxRecords", in: "a\n1\n2\n3\n", cfg: Config{MaxRecords: 2}, batches: []string{`[{"a":"1"},{"a":"2"}]`, `[{"a":"3"}]`}},
		{name: "duplicate header", in: "a,b,a\n1,2,3\n", err: `input:1:5: invalid CSV header: column 3 "a": named twice`},
		{name: "empty header", in: "a,,b\n", err: `input:1:3: invalid CSV header: column 2 "": empty name`},
		{name: "empty header segment", in: "a,b..c\n", err: `input:1:3: invalid CSV header: column 2 "b..c": empty name`},
		{name: "value and object", in: "a.b,a\n", err: `input:1:5: invalid CSV header: column 2 "a": is both a value and an object`},
		{name: "object and value", in: "a,a.b\n", err: `input:1:3: invalid CSV header: column 2 "a.b": is both a value and an object`},
		{name: "TSV", in: "a\tb.c\n1,2\t\"3\t4\"\n", cfg: Config{Format: FormatTSV}, batches: []string{`[{"a":"1,2","b":{"c":"3\t4"}}]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Format == FormatAuto {
				tt.cfg.Format = FormatCSV
			}
			runString(t, tt.in, tt.cfg).check(t, tt.batches, tt.rejects, tt.err)
		})
	}
}

func TestCSVRow(t *testing.T) {
	var got []Reject
	res := runString(t, "a\n\"x\ny\"\n\nb,c\n", Config{Format: FormatCSV, MaxRejects: 1, OnReject: func(r Reject) { got = append(got, r) }})
	if res.err != nil || len(got) != 1 {
		t.Fatalf("error %v, %d rejects; want nil, 1", res.err, len(got))
	}
	if e := got[0].Err; e.Line != 5 || e.Row != 4 || !errors.Is(e, ErrFieldCount) || string(got[0].Record) != "b,c" {
		t.Errorf("reject = line %d row %d %v %q; want line 5 row 4 ErrFieldCount \"b,c\"", e.Line, e.Row, e.Err, got[0].Record)
	}
	if b := res.all[0]; b.FirstLine != 2 || b.LastLine != 3 {
		t.Errorf("batch lines %d-%d; want 2-3", b.FirstLine, b.LastLine)
	}
}

func TestCSVStreams(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("id,note.text,note.by\r\n")
	for i := range 400 {
		sb.WriteString(strings.Repeat("7", i%9+1) + `,"line one` + strings.Repeat("\n", i%3) + `said ""x""",` + strings.Repeat("é", i%30) + "\r\n")
	}
	in := sb.String()
	cfg := Config{Format: FormatCSV, MaxRecords: 33}
	want := runString(t, in, cfg)
	if want.err != nil || want.stats.Records != 400 {
		t.Fatalf("got %+v, error %v; want 400 records", want.stats, want.err)
	}
	got := run(t, iotest.OneByteReader(strings.NewReader(in)), cfg)
	got.check(t, want.batches, nil, "")
	for i := range got.all {
		if got.all[i].LastLine != want.all[i].LastLine || got.all[i].End != want.all[i].End {
			t.Errorf("batch %d: lines/offsets differ with one-byte reads", i)
		}
	}
}

// TestCSVHugeField checks that a quoted field of 20 MB, newlines and all, is
// rejected and read past with memory bounded by MaxRecordBytes.
func TestCSVHugeField(t *testing.T) {
	r := io.MultiReader(
		strings.NewReader("a,b\n1,2\n3,\""),
		io.LimitReader(repeatReader('\n'), 20<<20),
		strings.NewReader("\"\n5,6\n"),
	)
	c, err := New(r, Config{Format: FormatCSV, MaxRejects: 1, MaxRecordBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Next()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b.Body), `{"data":[{"a":"1","b":"2"},{"a":"5","b":"6"}]}`; got != want {
		t.Errorf("Body = %s; want %s", got, want)
	}
	if b.LastLine != 20<<20+4 {
		t.Errorf("LastLine = %d; want %d", b.LastLine, 20<<20+4)
	}
	if n := cap(c.in.buf); n > 128<<10 {
		t.Errorf("read buffer grew to %d bytes; want at most 128 KiB", n)
	}
}
