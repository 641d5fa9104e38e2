package chunker

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestJSONL(t *testing.T) {
	all := Config{MaxRejects: -1}
	tests := []struct {
		name    string
		in      string
		cfg     Config
		batches []string
		rejects []string
		err     string
	}{
		{name: "empty", in: ""},
		{name: "one", in: `{"a":1}` + "\n", batches: []string{`[{"a":1}]`}},
		{name: "no final newline", in: "{\"a\":1}\n{\"b\":2}", batches: []string{`[{"a":1},{"b":2}]`}},
		{name: "blank and space-only lines are skipped", in: "\n{\"a\":1}\n\n  \t \n{\"b\":2}\n\n", batches: []string{`[{"a":1},{"b":2}]`}},
		{name: "CRLF", in: "{\"a\":1}\r\n{\"b\":2}\r\n", batches: []string{`[{"a":1},{"b":2}]`}},
		{name: "BOM", in: "\xef\xbb\xbf{\"a\":1}\n", batches: []string{`[{"a":1}]`}},
		{name: "BOM only", in: "\xef\xbb\xbf"},
		{name: "surrounding space is trimmed, inner kept", in: "  { \"a\" : [1, 2] }  \n", batches: []string{`[{ "a" : [1, 2] }]`}},
		{name: "bytes kept as they are", in: `{"b":"\u00e9\n","a":1.50e+3,"é":"😀"}`, batches: []string{`[{"b":"\u00e9\n","a":1.50e+3,"é":"😀"}]`}},
		{name: "MaxRecords", in: "{}\n{}\n{}\n{}\n{}\n", cfg: Config{MaxRecords: 2}, batches: []string{`[{},{}]`, `[{},{}]`, `[{}]`}},
		{
			name: "MaxBatchBytes cuts before a record that does not fit",
			in:   `{"a":"xxxx"}` + "\n" + `{"b":"y"}` + "\n" + `{"c":"zzzzzzzz"}` + "\n",
			// {"data":[ + 12 + , + 9 + ]} = 33
			cfg:     Config{MaxBatchBytes: 33, MaxRecordBytes: 20},
			batches: []string{`[{"a":"xxxx"},{"b":"y"}]`, `[{"c":"zzzzzzzz"}]`},
		},
		{name: "stop at first bad record", in: "{}\n[1]\n{}\n", err: "input:2:1: record is not a JSON object"},
		{
			name: "bad records are rejected",
			in:   "{}\n[1]\n\"s\"\n{\"a\":}\n{\"a\":1} x\n{} {}\n{\"a\":\"\xff\"}\n{\"a\"\n{\"b\":2}\n",
			cfg:  all, batches: []string{`[{},{"b":2}]`},
			rejects: []string{
				"2:1: record is not a JSON object",
				"3:1: record is not a JSON object",
				"4:6: invalid JSON: invalid character '}' looking for beginning of value",
				"5:9: invalid JSON: invalid character 'x' after top-level value",
				"6:4: invalid JSON: invalid character '{' after top-level value",
				`7:7: invalid UTF-8: invalid UTF-8 byte "\xff" in string (try --encoding windows-1252)`,
				"8:5: invalid JSON: unexpected end of JSON input",
			},
		},
		{name: "column counts leading space", in: "   [1]\n", cfg: all, rejects: []string{"1:4: record is not a JSON object"}},
		{
			name: "too large",
			in:   `{"a":"0123456789"}` + "\n" + `{"b":1}` + "\n",
			cfg:  Config{MaxRecordBytes: 10, MaxRejects: 1}, batches: []string{`[{"b":1}]`},
			rejects: []string{"1:11: record too large"},
		},
		{
			name: "too large without final newline",
			in:   `{"b":1}` + "\n" + `{"a":"0123456789"}`,
			cfg:  Config{MaxRecordBytes: 10, MaxRejects: 1}, batches: []string{`[{"b":1}]`},
			rejects: []string{"2:11: record too large"},
		},
		{
			name: "exactly MaxRecordBytes, with CRLF",
			in:   `{"a":"01"}` + "\r\n",
			cfg:  Config{MaxRecordBytes: 10}, batches: []string{`[{"a":"01"}]`},
		},
		{
			name: "too many rejects",
			in:   "[1]\n{}\n[2]\n[3]\n{}\n",
			cfg:  Config{MaxRejects: 2}, rejects: []string{"1:1: record is not a JSON object", "3:1: record is not a JSON object"},
			err: "too many rejected records (limit 2): input:4:1: record is not a JSON object",
		},
		{name: "source names the input", in: "1\n", cfg: Config{Source: "people.jsonl"}, err: "people.jsonl:1:1: record is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Format = FormatJSONL
			runString(t, tt.in, tt.cfg).check(t, tt.batches, tt.rejects, tt.err)
		})
	}
}

func TestJSONLErrors(t *testing.T) {
	res := runString(t, "{}\n{\"a\"\n", Config{Source: "p.jsonl"})
	var re *RecordError
	if !errors.As(res.err, &re) {
		t.Fatalf("error = %v; want a *RecordError", res.err)
	}
	if re.Source != "p.jsonl" || re.Line != 2 || re.Column != 5 || !errors.Is(res.err, ErrInvalidJSON) {
		t.Errorf("error = %+v; want p.jsonl:2:5 wrapping ErrInvalidJSON", re)
	}
	if len(res.batches) != 0 {
		t.Errorf("batches = %q; want none: a failing batch is not returned", res.batches)
	}

	res = runString(t, "[]\n{}\n[]\n", Config{MaxRejects: 1, Format: FormatJSONL})
	if !errors.Is(res.err, ErrTooManyRejects) || !errors.Is(res.err, ErrNotObject) || !errors.As(res.err, &re) || re.Line != 3 {
		t.Errorf("error = %v; want ErrTooManyRejects wrapping line 3's ErrNotObject", res.err)
	}
}

func TestRejectRecord(t *testing.T) {
	var got []Reject
	in := "[1]\r\n" + `{"a":"` + strings.Repeat("x", 3000) + `"}` + "\n{}\n"
	res := runString(t, in, Config{Format: FormatJSONL, MaxRejects: -1, MaxRecordBytes: 2000, OnReject: func(r Reject) { got = append(got, r) }})
	res.check(t, []string{`[{}]`}, []string{"1:1: record is not a JSON object", "2:2001: record too large"}, "")
	if len(got) != 2 {
		t.Fatalf("got %d rejects; want 2", len(got))
	}
	if string(got[0].Record) != "[1]" || got[0].Truncated {
		t.Errorf("Reject.Record = %q (truncated %v); want %q", got[0].Record, got[0].Truncated, "[1]")
	}
	if len(got[1].Record) != RejectPrefixBytes || !got[1].Truncated || !bytes.HasPrefix(got[1].Record, []byte(`{"a":"xxx`)) {
		t.Errorf("too-large Reject.Record has %d bytes (truncated %v); want its first %d", len(got[1].Record), got[1].Truncated, RejectPrefixBytes)
	}
	if !errors.Is(got[1].Err, ErrRecordTooLarge) {
		t.Errorf("Reject.Err = %v; want ErrRecordTooLarge", got[1].Err)
	}
}

// TestBatchPosition checks Seq, Offset, End and lines: batches tile the input.
func TestBatchPosition(t *testing.T) {
	in := "{\"a\":1}\n\n[0]\n{\"b\":2}\n{\"c\":3}\n\n"
	res := runString(t, in, Config{MaxRecords: 2, MaxRejects: -1})
	type pos struct {
		seq, records        int
		offset, end         int64
		firstLine, lastLine int
	}
	want := []pos{{0, 2, 0, 21, 1, 4}, {1, 1, 21, 29, 5, 5}}
	for i, b := range res.all {
		got := pos{b.Seq, b.Records, b.Offset, b.End, b.FirstLine, b.LastLine}
		if i >= len(want) || got != want[i] {
			t.Errorf("batch %d = %+v; want %+v", i, got, want[min(i, len(want)-1)])
		}
	}
	if len(res.all) != len(want) {
		t.Errorf("got %d batches; want %d", len(res.all), len(want))
	}
	wantStats := Stats{Batches: 2, Records: 3, Rejects: 1, Lines: 6, Bytes: int64(len(in)), InputBytes: int64(len(in))}
	if res.stats != wantStats {
		t.Errorf("Stats() = %+v; want %+v", res.stats, wantStats)
	}
}

// TestReadSizes feeds the same input through readers that return data in
// odd pieces: the batches must not change.
func TestReadSizes(t *testing.T) {
	var sb strings.Builder
	for i := range 300 {
		sb.WriteString(`{"i":` + strings.Repeat("1", i%7+1) + `,"s":"` + strings.Repeat("é", i%50) + `"}`)
		sb.WriteString([]string{"\n", "\r\n", "\n\n"}[i%3])
	}
	in := sb.String()
	cfg := Config{MaxRecords: 7, MaxRecordBytes: 200}
	want := runString(t, in, cfg)
	if want.err != nil || len(want.batches) != 43 {
		t.Fatalf("got %d batches, error %v; want 43, nil", len(want.batches), want.err)
	}
	readers := map[string]func() io.Reader{
		"one byte":    func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
		"half":        func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
		"data+EOF":    func() io.Reader { return iotest.DataErrReader(strings.NewReader(in)) },
		"no-op 0,nil": func() io.Reader { return &stutterReader{r: strings.NewReader(in)} },
	}
	for name, r := range readers {
		t.Run(name, func(t *testing.T) {
			got := run(t, r(), cfg)
			got.check(t, want.batches, nil, "")
			for i := range got.all {
				if got.all[i].Hash() != want.all[i].Hash() || got.all[i].End != want.all[i].End {
					t.Errorf("batch %d differs", i)
				}
			}
		})
	}
}

// stutterReader returns (0, nil) before every read.
type stutterReader struct {
	r    io.Reader
	skip bool
}

func (s *stutterReader) Read(p []byte) (int, error) {
	if s.skip = !s.skip; s.skip {
		return 0, nil
	}
	return s.r.Read(p[:min(len(p), 5)])
}

// TestHugeLine checks that a 50 MB line is rejected and read past with
// memory bounded by MaxRecordBytes, not by the line.
func TestHugeLine(t *testing.T) {
	const huge = 50 << 20
	r := io.MultiReader(
		strings.NewReader(`{"a":1}`+"\n"+`{"big":"`),
		io.LimitReader(repeatReader('x'), huge),
		strings.NewReader(`"}`+"\n"+`{"b":2}`+"\n"),
	)
	c, err := New(r, Config{MaxRejects: 1, MaxRecordBytes: 64 << 10})
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
	if s := c.Stats(); s.Rejects != 1 || s.Lines != 3 {
		t.Errorf("Stats() = %+v; want 1 reject, 3 lines", s)
	}
	if n := cap(c.in.buf); n > 128<<10 {
		t.Errorf("read buffer grew to %d bytes; want at most 128 KiB", n)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestDeterministic(t *testing.T) {
	var sb strings.Builder
	for i := range 2000 {
		sb.WriteString(`{"n":` + strings.Repeat("7", i%13+1) + "}\n")
		if i%100 == 0 {
			sb.WriteString("[]\n")
		}
	}
	cfg := Config{MaxRecords: 150, MaxBatchBytes: 2000, MaxRejects: -1}
	a, b := runString(t, sb.String(), cfg), runString(t, sb.String(), cfg)
	if len(a.all) == 0 || len(a.all) != len(b.all) {
		t.Fatalf("runs gave %d and %d batches", len(a.all), len(b.all))
	}
	for i := range a.all {
		x, y := a.all[i], b.all[i]
		if x.Seq != y.Seq || x.HashHex() != y.HashHex() || x.Offset != y.Offset || x.End != y.End || x.FirstLine != y.FirstLine || x.LastLine != y.LastLine {
			t.Errorf("batch %d differs between runs: %+v vs %+v", i, x, y)
		}
		if i > 0 && x.Offset != a.all[i-1].End {
			t.Errorf("batch %d starts at %d; the previous ended at %d", i, x.Offset, a.all[i-1].End)
		}
		if len(x.Body) > cfg.MaxBatchBytes {
			t.Errorf("batch %d has %d bytes; cap is %d", i, len(x.Body), cfg.MaxBatchBytes)
		}
	}
}

// TestBodiesKept checks that the chunker never touches a Body it returned,
// while Stats is read from another goroutine (run with -race).
func TestBodiesKept(t *testing.T) {
	var sb strings.Builder
	for i := range 3000 {
		sb.WriteString(`{"i":"` + strings.Repeat("x", i%17) + "\"}\n")
	}
	c, err := New(strings.NewReader(sb.String()), Config{MaxRecords: 100})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	polled := make(chan Stats)
	go func() {
		var last Stats
		for {
			select {
			case <-done:
				polled <- last
				return
			default:
				last = c.Stats()
			}
		}
	}()
	var held []Batch
	var copies [][]byte
	for {
		b, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, b)
		copies = append(copies, bytes.Clone(b.Body))
	}
	close(done)
	if s := <-polled; s.Records > 3000 {
		t.Errorf("Stats() from another goroutine = %+v", s)
	}
	for i := range held {
		if !bytes.Equal(held[i].Body, copies[i]) {
			t.Fatalf("batch %d's body changed after Next returned it", i)
		}
	}
	if len(held) != 30 {
		t.Errorf("got %d batches; want 30", len(held))
	}
}
