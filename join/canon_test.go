package join

import (
	"encoding/json"
	"testing"
)

func TestHashCanonical(t *testing.T) {
	same := []struct{ a, b string }{
		{`{"a":1,"b":"x"}`, `{ "b" : "x" , "a" : 1 }`},
		{`{"a":1.0}`, `{"a":1}`},
		{`{"a":1e2}`, `{"a":100}`},
		{`{"a":-0}`, `{"a":0}`},
		{`{"s":"\u00e9\/"}`, `{"s":"é/"}`},
		{`{"s":"\ud83d\ude00"}`, `{"s":"😀"}`},
		{`{"s":"a\"b\\c\n"}`, `{"s":"a\u0022b\u005cc\u000a"}`},
		{`{"o":{"y":[1,2,{"q":null,"p":true}],"x":false}}`, "{\"o\":{\"x\":false,\n\t\"y\":[1, 2, {\"p\":true,\"q\":null}]}}"},
		{"{\"s\":\"a\xffb\"}", `{"s":"a\ufffdb"}`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`[]`, `[ ]`},
		{`{}`, ` { } `},
	}
	for _, tt := range same {
		ha, err := Hash([]byte(tt.a))
		if err != nil {
			t.Fatalf("Hash(%s) = %v", tt.a, err)
		}
		hb, err := Hash([]byte(tt.b))
		if err != nil {
			t.Fatalf("Hash(%s) = %v", tt.b, err)
		}
		if ha != hb {
			t.Errorf("Hash(%s) = %x; Hash(%s) = %x; want them equal", tt.a, ha, tt.b, hb)
		}
	}
	differ := []struct{ a, b string }{
		{`{"a":1}`, `{"a":2}`},
		{`{"a":"1"}`, `{"a":1}`},
		{`{"a":1}`, `{"b":1}`},
		{`[1,2]`, `[2,1]`},
		{`{"a":{"b":1}}`, `{"a.b":1}`},
		{`{"a":null}`, `{}`},
	}
	for _, tt := range differ {
		ha, _ := Hash([]byte(tt.a))
		hb, _ := Hash([]byte(tt.b))
		if ha == hb {
			t.Errorf("Hash(%s) == Hash(%s); want them different", tt.a, tt.b)
		}
	}
	for _, bad := range []string{``, `{`, `{"a":}`, `{"a" 1}`, `[1,]`, `"abc`, `tru`, `{"a":1}x`, `{a:1}`, `"\x"`} {
		if _, err := Hash([]byte(bad)); err == nil {
			t.Errorf("Hash(%q) = nil error; want one", bad)
		}
	}
}

// FuzzHashReserialized checks that a record decoded and encoded again by
// encoding/json (keys sorted, escapes changed) hashes the same.
func FuzzHashReserialized(f *testing.F) {
	f.Add(`{"email_address":"a@b.c","n":1.50,"tags":["x","\u00e9"],"o":{"z":1,"a":null}}`)
	f.Add(`{"s":"<>&\u2028"}`)
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		h1, err1 := Hash([]byte(s))
		h2, err2 := Hash(b)
		if err1 != nil || err2 != nil {
			t.Fatalf("Hash(%q) = %v, Hash(%q) = %v", s, err1, b, err2)
		}
		if h1 != h2 {
			t.Errorf("Hash(%q) = %x; Hash(%q) = %x; want equal", s, h1, b, h2)
		}
	})
}
