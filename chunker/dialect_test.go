package chunker

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

// utf16le encodes s as UTF-16LE with a byte order mark, as Excel's
// "Unicode text" does.
func utf16le(s string, bom bool) string {
	var b []byte
	if bom {
		b = append(b, 0xff, 0xfe)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

func utf16be(s string) string {
	b := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return string(b)
}

func TestDialects(t *testing.T) {
	csv := Config{Source: "people.csv"}
	tests := []struct {
		name    string
		in      string
		cfg     Config
		batches []string
		rejects []string
		err     string
		is      error
	}{
		{name: "comma", in: "a,b\n1,2\n", cfg: csv, batches: []string{`[{"a":"1","b":"2"}]`}},
		{name: "semicolon", in: "email_address;first_name;city\nm@x.de;Jörg;Köln\n", cfg: csv,
			batches: []string{`[{"email_address":"m@x.de","first_name":"Jörg","city":"Köln"}]`}},
		{name: "tab in a .csv", in: "a\tb\n1\t2\n", cfg: csv, batches: []string{`[{"a":"1","b":"2"}]`}},
		{name: "pipe", in: "a|b\n1|2\n", cfg: csv, batches: []string{`[{"a":"1","b":"2"}]`}},
		{name: "one column", in: "email_address\na@x.com\n", cfg: csv, batches: []string{`[{"email_address":"a@x.com"}]`}},
		{name: "semicolon with commas in values", in: "name;city\nMüller, Hans;Berlin\nDoe, J;Paris\n", cfg: csv,
			batches: []string{`[{"name":"Müller, Hans","city":"Berlin"},{"name":"Doe, J","city":"Paris"}]`}},
		{name: "quoted delimiters do not count", in: "\"a;x\",b\n\"1;2\",3\n", cfg: csv, batches: []string{`[{"a;x":"1;2","b":"3"}]`}},
		{name: "ambiguous", in: "a,b;c\n1,2;3\n", cfg: csv, is: ErrDelimiter,
			err: `chunker: people.csv: cannot detect CSV delimiter: the header holds ',' (1), ';' (1) and the first rows do not tell which separates fields; set it with --delimiter`},
		{name: "ambiguous header only", in: "a,b;c\n", cfg: csv, is: ErrDelimiter,
			err: `chunker: people.csv: cannot detect CSV delimiter: the header holds ',' (1), ';' (1) and the first rows do not tell which separates fields; set it with --delimiter`},
		{name: "Delimiter decides", in: "a,b;c\n1,2;3\n", cfg: Config{Source: "x.csv", Delimiter: ';'}, batches: []string{`[{"a,b":"1,2","c":"3"}]`}},
		{name: "TSV is tab", in: "a,b\tc\n1,2\t3\n", cfg: Config{Source: "x.tsv"}, batches: []string{`[{"a,b":"1,2","c":"3"}]`}},
		{name: "CSV by content on stdin", in: "a;b\n1;2\n", cfg: Config{Source: "stdin"}, batches: []string{`[{"a":"1","b":"2"}]`}},
		{name: "CSV by content, unknown extension", in: "a\tb\n1\t2\n", cfg: Config{Source: "export.txt"}, batches: []string{`[{"a":"1","b":"2"}]`}},

		{name: "CR line endings", in: "a,b\r1,2\r3,4\r", cfg: csv, batches: []string{`[{"a":"1","b":"2"},{"a":"3","b":"4"}]`}},
		{name: "CR line endings, no final CR", in: "a;b\r1;2\r3;4", cfg: csv, batches: []string{`[{"a":"1","b":"2"},{"a":"3","b":"4"}]`}},
		{name: "CRLF is not CR", in: "a\r\n\"x\ry\"\r\n", cfg: csv, batches: []string{`[{"a":"x\ry"}]`}},

		{name: "windows-1252", in: "name,city\nM\xfcller,K\xf6ln \x80\n", cfg: Config{Source: "x.csv", Encoding: "windows-1252"},
			batches: []string{`[{"name":"Müller","city":"Köln €"}]`}},
		{name: "latin1", in: "name\nM\xfcller\n", cfg: Config{Source: "x.csv", Encoding: "Latin1"}, batches: []string{`[{"name":"Müller"}]`}},
		{name: "invalid UTF-8 suggests an encoding", in: "name,city\nM\xfcller,K\xf6ln\n", cfg: csv,
			err: "people.csv:2:2: invalid UTF-8 (try --encoding windows-1252)", is: ErrInvalidUTF8},
		{name: "a Windows-1252 header on stdin", in: "Stra\xdfe,Ort\nA,B\n", cfg: Config{Source: "stdin"}, is: ErrHeader,
			err: `stdin:1:1: invalid CSV header: column 1 "Stra\xdfe": invalid UTF-8 (try --encoding windows-1252)`},
		{name: "invalid UTF-8 with an explicit encoding", in: "name\nM\xfcller\n", cfg: Config{Source: "x.csv", Encoding: "utf-8"},
			err: "x.csv:2:2: invalid UTF-8", is: ErrInvalidUTF8},
		{name: "UTF-16LE by its BOM", in: utf16le("email_address\tcity\r\na@x.com\tKöln\r\n", true), cfg: csv,
			batches: []string{`[{"email_address":"a@x.com","city":"Köln"}]`}},
		{name: "UTF-16BE by its BOM", in: utf16be("a;b\n1;€\n"), cfg: Config{Source: "stdin"}, batches: []string{`[{"a":"1","b":"€"}]`}},
		{name: "UTF-16LE named, no BOM", in: utf16le("a,b\n1,2\n", false), cfg: Config{Source: "x.csv", Encoding: "utf-16le"}, batches: []string{`[{"a":"1","b":"2"}]`}},
		{name: "UTF-16 without BOM or Encoding", in: utf16le("a,b\n1,2\n", false), cfg: Config{Source: "stdin"}, is: ErrFormat,
			err: "stdin:1:2: cannot detect input format: byte '\\x00' on line 1 is not text, and the input does not start with '[' or '{' (UTF-16 without a byte order mark? set --encoding utf-16le or utf-16be)"},
		{name: "BOM contradicts Encoding", in: utf16le("a\n1\n", true), cfg: Config{Source: "x.csv", Encoding: "windows-1252"}, is: ErrEncoding,
			err: "chunker: x.csv: encoding mismatch: it starts with a UTF-16LE byte order mark but Encoding is windows-1252"},
		{name: "UTF-8 BOM", in: "\xef\xbb\xbfa;b\n1;2\n", cfg: Config{Source: "stdin"}, batches: []string{`[{"a":"1","b":"2"}]`}},

		{name: "a .json file is not read as CSV", in: "42\n", cfg: Config{Source: "x.json.gz"}, is: ErrFormat,
			err: "x.json.gz:1:1: cannot detect input format: first byte '4' is neither '[' nor '{' (name the format with --format jsonl, json, csv or tsv)"},
		{name: "xlsx", in: "PK\x03\x04\x14\x00\x06\x00\x08\x00", cfg: Config{Source: "people.xlsx"}, is: ErrFormat,
			err: "chunker: people.xlsx: cannot detect input format: it is a zip archive, such as an Excel workbook (.xlsx): save it as CSV (UTF-8) and load that"},
		{name: "xlsx renamed", in: "PK\x03\x04\x14\x00\x06\x00\x08\x00", cfg: csv, is: ErrFormat,
			err: "chunker: people.csv: cannot detect input format: it is a zip archive, such as an Excel workbook (.xlsx): save it as CSV (UTF-8) and load that"},
		{name: "xls", in: "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", cfg: csv, is: ErrFormat,
			err: "chunker: people.csv: cannot detect input format: it is an Excel 97-2003 workbook (.xls): save it as CSV (UTF-8) and load that"},
		{name: "data wrapper", in: "{\"data\": [{\"a\":1},\n {\"b\":2}]}\n", cfg: Config{Source: "x.json"}, batches: []string{`[{"a":1},{"b":2}]`}},
		{name: "data wrapper, pretty", in: "{\n  \"data\": [\n    {\"a\": 1}\n  ]\n}\n", cfg: Config{Source: "stdin"}, batches: []string{`[{"a": 1}]`}},
		{name: "data wrapper, empty", in: `{"data":[]}`, cfg: Config{Source: "x.json"}},
		{name: "data wrapper with more members", in: `{"data":[{"a":1}],"meta":{}}`, cfg: Config{Source: "x.json"}, is: ErrInvalidJSON,
			err: `x.json:1:18: invalid JSON: invalid character ',' after the "data" array: only an object whose one member is "data" is read as a wrapper; load the array alone (jq .data)`},
		{name: "data wrapper, not closed", in: `{"data":[{"a":1}]`, cfg: Config{Source: "x.json"}, is: ErrInvalidJSON,
			err: `x.json:1:18: invalid JSON: unexpected end of input: the object around the "data" array is not closed`},
		{name: "JSON Lines of bodies are records", in: "{\"data\":[{}]}\n{\"data\":[{}]}\n", cfg: Config{Source: "x.json"},
			batches: []string{`[{"data":[{}]},{"data":[{}]}]`}},
		{name: "a single pretty object", in: "{\n  \"email_address\": \"a@x.com\"\n}\n", cfg: Config{Source: "x.json"}, is: ErrFormat,
			err: "x.json:1:1: cannot detect input format: a single JSON object spread over 3 lines, not JSON Lines (one object per line) or a JSON array: put each record on one line (jq -c) or the records in an array"},
		{name: "pretty objects", in: "{\n \"a\": 1\n}\n{\n \"a\": 2\n}\n", cfg: Config{Source: "x.jsonl"}, is: ErrFormat,
			err: "x.jsonl:1:1: cannot detect input format: JSON objects spread over several lines (pretty-printed), not JSON Lines (one object per line) or a JSON array: put each record on one line (jq -c) or the records in an array"},
		{name: "FormatJSONL is taken at its word", in: "{\n  \"a\": 1\n}\n", cfg: Config{Format: FormatJSONL, MaxRejects: -1},
			rejects: []string{"1:2: invalid JSON: unexpected end of JSON input", "2:6: invalid JSON: invalid character ':' after top-level value", "3:1: invalid JSON: invalid character '}' looking for beginning of value"}},
		{name: "a one-line object is one record", in: `{"email_address":"a@x.com"}`, cfg: Config{Source: "x.json"}, batches: []string{`[{"email_address":"a@x.com"}]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runString(t, tt.in, tt.cfg)
			res.check(t, tt.batches, tt.rejects, tt.err)
			if tt.is != nil && !errors.Is(res.err, tt.is) {
				t.Errorf("error %v; want errors.Is %v", res.err, tt.is)
			}
		})
	}
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]string{"UTF8": "utf-8", "cp1252": "windows-1252", "latin-1": "iso-8859-1", "UTF-16LE": "utf-16le", "utf16be": "utf-16be"} {
		if got, err := ParseEncoding(in); got != want || err != nil {
			t.Errorf("ParseEncoding(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseEncoding("ebcdic"); err == nil {
		t.Error("ParseEncoding(ebcdic) = nil error")
	}
	if _, err := New(strings.NewReader(""), Config{Encoding: "ebcdic"}); err == nil {
		t.Error("New with Encoding ebcdic = nil error")
	}
	if _, err := New(strings.NewReader(""), Config{Delimiter: ':'}); err == nil {
		t.Error("New with Delimiter ':' = nil error")
	}
}

// TestByteDecoder checks the single-byte decoders against x/text's, over
// every byte value and with reads of every small size.
func TestByteDecoder(t *testing.T) {
	var all []byte
	for range 3 {
		for c := range 256 {
			all = append(all, byte(c))
			all = append(all, "plain ascii text"[:c%17]...)
		}
	}
	for _, tc := range []struct {
		name  string
		cm    *charmap.Charmap
		table *[256]utf8Char
	}{{"windows-1252", charmap.Windows1252, windows1252Table}, {"iso-8859-1", charmap.ISO8859_1, iso88591Table}} {
		want, err := tc.cm.NewDecoder().Bytes(all)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 2, 3, 7, 8, 9, 4096} {
			d := newByteDecoder(iotest.HalfReader(bytes.NewReader(all)), tc.table)
			var got []byte
			p := make([]byte, size)
			for {
				n, err := d.Read(p)
				got = append(got, p[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s, reads of %d: decoded text differs from x/text's", tc.name, size)
			}
		}
	}
}

func TestDetected(t *testing.T) {
	tests := []struct {
		in       string
		cfg      Config
		format   Format
		delim    rune
		encoding string
	}{
		{"a;b\n1;2\n", Config{Source: "stdin"}, FormatCSV, ';', "utf-8"},
		{utf16le("a\tb\n", true), Config{Source: "x.txt"}, FormatCSV, '\t', "utf-16le"},
		{"a\tb\n", Config{Source: "x.tsv", Encoding: "cp1252"}, FormatTSV, '\t', "windows-1252"},
		{"{}\n", Config{}, FormatJSONL, 0, "utf-8"},
	}
	for _, tt := range tests {
		c, err := New(strings.NewReader(tt.in), tt.cfg)
		if err != nil {
			t.Errorf("New(%q): %v", tt.in, err)
			continue
		}
		if c.Format() != tt.format || c.Delimiter() != tt.delim || c.Encoding() != tt.encoding {
			t.Errorf("New(%q): %v %q %s; want %v %q %s", tt.in, c.Format(), c.Delimiter(), c.Encoding(), tt.format, tt.delim, tt.encoding)
		}
	}
}

func TestParseDelimiter(t *testing.T) {
	for in, want := range map[string]rune{"": 0, "auto": 0, ",": ',', "Semicolon": ';', "\t": '\t', `\t`: '\t', "TAB": '\t', "|": '|', "pipe": '|'} {
		if got, err := ParseDelimiter(in); got != want || err != nil {
			t.Errorf("ParseDelimiter(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseDelimiter(":"); err == nil {
		t.Error("ParseDelimiter(:) = nil error")
	}
}
