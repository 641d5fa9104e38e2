package apitest

import (
	"encoding/json"
	"strings"
	"testing"
)

var scanCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e10`, `-1E-2`, `true`, `false`, `null`,
	`{"a":[1,2,{"b":null}],"c":"\u00e9\n\"\\\/"}`, ` { "a" : 1 } `,
	`01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`, `"abc`, `"\x"`, `"\u12g4"`, "\"a\tb\"",
	`{"a"}`, `{"a":}`, `{,}`, `[1,]`, `{"a":1,}`, `[1 2]`, `{1:2}`, `{"a":1`, `[`, ``, ` `,
	`{"a":1}x`, `[]]`, `"\ud800"`,
}

func TestScannerMatchesEncodingJSON(t *testing.T) {
	for _, in := range scanCases {
		s := scanner{b: []byte(in)}
		s.ws()
		err := s.value(0)
		if err == nil {
			err = trailing(&s)
		}
		if got, want := err == nil, json.Valid([]byte(in)); got != want {
			t.Errorf("scan(%q) valid = %v (%v); want %v", in, got, err, want)
		}
	}
}

func TestScannerDepth(t *testing.T) {
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	huge := strings.Repeat("[", 1<<20) // must not blow the stack
	for in, want := range map[string]bool{ok: true, deep: false, huge: false} {
		s := scanner{b: []byte(in)}
		if got := s.value(0) == nil; got != want {
			t.Errorf("depth %d: valid = %v; want %v", strings.Count(in, "["), got, want)
		}
	}
}

func FuzzScanner(f *testing.F) {
	for _, in := range scanCases {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := scanner{b: []byte(in)}
		s.ws()
		err := s.value(0)
		if err == nil {
			err = trailing(&s)
		}
		deep := strings.Count(in, "[")+strings.Count(in, "{") > maxDepth
		if got, want := err == nil, json.Valid([]byte(in)); got != want && !(deep && !got) {
			t.Fatalf("scan(%q) valid = %v (%v); want %v", in, got, err, want)
		}
	})
}

func TestParseJobData(t *testing.T) {
	many := func(n int) string {
		return `{"data":[` + strings.TrimSuffix(strings.Repeat(`{"a":1},`, n), ",") + `]}`
	}
	tests := []struct {
		name, body string
		records    []string // wanted records
		status     int      // wanted error status, 0 for none
		field      string
	}{
		{"two", `{"data":[{"a":1}, {"b" : [2]}]}`, []string{`{"a":1}`, `{"b" : [2]}`}, 0, ""},
		{"other members", `{"x":{"y":[1]},"data":[{}],"z":null}`, []string{`{}`}, 0, ""},
		{"last data wins", `{"data":[{"a":1}],"data":[{"b":2}]}`, []string{`{"b":2}`}, 0, ""},
		{"whitespace kept inside", "{\"data\":[ {\n\"a\" :\t1\n} ]}", []string{"{\n\"a\" :\t1\n}"}, 0, ""},
		{"escaped key", `{"d\u0061ta":[{"a":1}]}`, []string{`{"a":1}`}, 0, ""},
		{"5000", many(5000), nil, 0, ""},
		{"5001", many(5001), nil, 422, "data"},
		{"empty body", ``, nil, 422, "data"},
		{"missing", `{"records":[{}]}`, nil, 422, "data"},
		{"empty", `{"data":[]}`, nil, 422, "data"},
		{"null", `{"data":null}`, nil, 422, "data"},
		{"object", `{"data":{"a":1}}`, nil, 422, "data"},
		{"item not object", `{"data":[{"a":1},2]}`, nil, 422, "data"},
		{"item null", `{"data":[null]}`, nil, 422, "data"},
		{"item array", `{"data":[[]]}`, nil, 422, "data"},
		{"malformed", `{"data":[{"a":1}`, nil, 400, ""},
		{"malformed after data", `{"data":[{"a":1}],}`, nil, 400, ""},
		{"top-level array", `[{"a":1}]`, nil, 400, ""},
		{"trailing", `{"data":[{"a":1}]} {}`, nil, 400, ""},
		{"invalid utf-8", "{\"data\":[{\"a\":\"\xff\"}]}", nil, 400, ""},
		{"too deep", `{"data":[` + strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70) + `]}`, nil, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offs, be := parseJobData([]byte(tt.body))
			if tt.status != 0 {
				if be == nil || be.status != tt.status || be.field != tt.field {
					t.Fatalf("parseJobData = %v, %+v; want status %d field %q", offs, be, tt.status, tt.field)
				}
				return
			}
			if be != nil {
				t.Fatalf("parseJobData: %+v", be)
			}
			if tt.records == nil {
				return
			}
			var got []string
			for i := 0; i < len(offs); i += 2 {
				got = append(got, tt.body[offs[i]:offs[i+1]])
			}
			if strings.Join(got, "|") != strings.Join(tt.records, "|") {
				t.Errorf("records = %q; want %q", got, tt.records)
			}
		})
	}
}

func TestMemberIter(t *testing.T) {
	rec := []byte(` { "id" : 5, "a\"b":[1,{"x":2}], "e":"v" } `)
	it := newMemberIter(rec)
	var got []string
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		got = append(got, string(k)+"="+string(v))
	}
	want := `"id"=5|"a\"b"=[1,{"x":2}]|"e"="v"`
	if strings.Join(got, "|") != want {
		t.Errorf("members = %q; want %q", strings.Join(got, "|"), want)
	}
	if it := newMemberIter([]byte(`{}`)); func() bool { _, _, ok := it.next(); return ok }() {
		t.Error("members of {} = some; want none")
	}
	if !keyIs([]byte(`"em\u0061il"`), "email") || keyIs([]byte(`"emai"`), "email") {
		t.Error("keyIs mismatch")
	}
}
