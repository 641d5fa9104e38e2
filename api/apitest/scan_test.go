package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// agree reports whether parseJobData's verdict on body matches
// encoding/json's: accepted (or refused with 422) exactly when the body is
// a valid JSON object with valid UTF-8, and then with the same records. An
// empty body counts as an empty object.
func agree(body []byte) error {
	offs, be := parseJobData(body)
	var m map[string]json.RawMessage
	valid := len(bytes.Trim(body, " \t\r\n")) == 0 ||
		json.Valid(body) && utf8.Valid(body) && json.Unmarshal(body, &m) == nil
	switch {
	case be != nil && be.status == 400:
		if valid {
			return fmt.Errorf("400 (%s) for a valid object", be.msg)
		}
		return nil
	case !valid:
		return fmt.Errorf("accepted (%v, %+v) an invalid body", offs, be)
	case be != nil:
		return nil // 422: valid JSON, wrong shape
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(m["data"], &recs); err != nil {
		return fmt.Errorf("accepted data that encoding/json cannot read: %v", err)
	}
	if len(recs) != len(offs)/2 {
		return fmt.Errorf("%d records; encoding/json finds %d", len(offs)/2, len(recs))
	}
	for i, r := range recs {
		if got := body[offs[2*i]:offs[2*i+1]]; !bytes.Equal(got, r) {
			return fmt.Errorf("record %d = %q; encoding/json has %q", i, got, r)
		}
	}
	return nil
}

var envelopeCases = []string{
	`{"data":[{}]}`, `{"data":[{"a":[1,2,{"b":null}],"c":"\u00e9\n\"\\\/"}]}`, ` { "data" : [ {"a" : 1} ] } `,
	`{"x":01,"data":[{}]}`, `{"data":[{"a":1.}]}`, `{"data":[{"a":tru}]}`, `{"data":[{"a":"\x"}]}`,
	`{"data":[{"a":"\u12g4"}]}`, "{\"data\":[{\"a\":\"a\tb\"}]}", `{"data":[{"a"}]}`, `{"data":[{,}]}`,
	`{"data":[{},]}`, `{"data":[{}],}`, `{"data":[{} {}]}`, `{1:2}`, `{"data":[{}]`, `{"data":[`, ``, ` `,
	`{"data":[{}]}x`, `[]`, `"s"`, `{"data":"\ud800"}`, "{\"d\xffta\":[{}]}", "{\"data\":[{\"\xff\":1}]}",
	`{"Data":[{}]}`, `{"data":[{}],"data":[{"b":2}]}`, `{"data":[1]}`, `{"data":{}}`,
}

func TestParseJobDataAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range envelopeCases {
		if err := agree([]byte(in)); err != nil {
			t.Errorf("parseJobData(%q): %v", in, err)
		}
	}
}

func TestNestingNeedsNoRecursion(t *testing.T) {
	deep := strings.Repeat("[", 9990) + strings.Repeat("]", 9990)
	body := `{"data":[{"a":` + deep + `,"email_address":"x"}]}`
	offs, be := parseJobData([]byte(body))
	if be != nil || len(offs) != 2 {
		t.Fatalf("parseJobData(deep record) = %v, %+v; want one record", offs, be)
	}
	// The record's members are still found past the deep value.
	it := newMemberIter([]byte(body[offs[0]:offs[1]]))
	var keys []string
	for k, _, ok := it.next(); ok; k, _, ok = it.next() {
		keys = append(keys, string(k))
	}
	if strings.Join(keys, ",") != `"a","email_address"` {
		t.Errorf("keys = %v", keys)
	}
	for _, in := range []string{
		`{"data":[` + strings.Repeat("[", 1<<20) + `]}`, // must not blow the stack
		`{"data":[{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}]}`,
	} {
		if _, be := parseJobData([]byte(in)); be == nil || be.status != 400 {
			t.Errorf("parseJobData(too deep) = %+v; want 400", be)
		}
	}
}

func FuzzParseJobData(f *testing.F) {
	for _, in := range envelopeCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := agree(body); err != nil {
			t.Fatalf("parseJobData(%q): %v", body, err)
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
		{"too deep", `{"data":[` + strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001) + `]}`, nil, 400, ""},
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
