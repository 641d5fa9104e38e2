package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/bits"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	deepObj := func(n int) string {
		return strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1)
	}
	tests := []struct {
		in     string
		kind   Kind // 0: valid
		offset int
	}{
		{`{}`, 0, 0},
		{` {"a" : [1, -2.5e+3, 0, true, false, null, "x"]} `, 0, 0},
		{`"\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\"`, 0, 0},
		{`"\ud800"`, 0, 0}, // lone surrogate escape: accepted like encoding/json
		{`"héllo wörld, 日本語 🙂"`, 0, 0},
		{`0`, 0, 0},
		{`-0.0e-0`, 0, 0},
		{`[[[]],{}]`, 0, 0},
		{deep(MaxDepth), 0, 0},
		{deepObj(MaxDepth), 0, 0},
		{"\t\r\n 1 \t\r\n", 0, 0},

		{``, Truncated, 0},
		{`   `, Truncated, 3},
		{`{`, Truncated, 1},
		{`{"a"`, Truncated, 4},
		{`{"a":`, Truncated, 5},
		{`{"a":1`, Truncated, 6},
		{`"abc`, Truncated, 4},
		{`"abcdefghijklmnop`, Truncated, 17},
		{`"\u12`, Truncated, 5},
		{`"\`, Truncated, 2},
		{`"é`[:2], Truncated, 2},
		{`tru`, Truncated, 3},
		{`-`, Truncated, 1},
		{`1.`, Truncated, 2},
		{`1e+`, Truncated, 3},
		{`[1,`, Truncated, 3},

		{`{"a":1,}`, Syntax, 7},
		{`[1,]`, Syntax, 3},
		{`{"a" 1}`, Syntax, 5},
		{`{a:1}`, Syntax, 1},
		{`[1 2]`, Syntax, 3},
		{`01`, Syntax, 1},
		{`+1`, Syntax, 0},
		{`.5`, Syntax, 0},
		{`1.e5`, Syntax, 2},
		{`1e`, Truncated, 2},
		{`1ex`, Syntax, 2},
		{`-x`, Syntax, 1},
		{`"a` + "\x01" + `"`, Syntax, 2},
		{"\"tab\there\"", Syntax, 4},
		{`"\x"`, Syntax, 2},
		{`"\u12g4"`, Syntax, 5},
		{`trve`, Syntax, 2},
		{`nul1`, Syntax, 3},
		{`{} {}`, Syntax, 3},
		{"\x00", Syntax, 0},
		{"\v1", Syntax, 0},
		{`'a'`, Syntax, 0},
		{deep(MaxDepth + 1), TooDeep, MaxDepth},

		{"\"\xff\"", InvalidUTF8, 1},
		{"\"abcdefgh\xc3\x28\"", InvalidUTF8, 9},
		{"\"\xc0\xaf\"", InvalidUTF8, 1},         // overlong '/'
		{"\"\xe0\x80\xaf\"", InvalidUTF8, 1},     // overlong
		{"\"\xed\xa0\x80\"", InvalidUTF8, 1},     // UTF-8-encoded surrogate
		{"\"\xf4\x90\x80\x80\"", InvalidUTF8, 1}, // above U+10FFFF
		{"\"\xf8\x88\x80\x80\x80\"", InvalidUTF8, 1},
		{"\"\x80\"", InvalidUTF8, 1},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			err := Check([]byte(tt.in))
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("Check(%q) = %v; want nil", tt.in, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check(%q) = %v; want *Error of kind %v", tt.in, err, tt.kind)
			}
			if e.Kind != tt.kind || e.Offset != tt.offset {
				t.Errorf("Check(%q) = %v at %d (%q); want %v at %d", tt.in, e.Kind, e.Offset, e.Msg, tt.kind, tt.offset)
			}
			if got, want := Valid([]byte(tt.in)), json.Valid([]byte(tt.in)) && utf8.ValidString(tt.in); got != want {
				t.Errorf("Valid(%q) = %v; encoding/json and utf8 say %v", tt.in, got, want)
			}
		})
	}
}

func TestValue(t *testing.T) {
	tests := []struct {
		in   string
		end  int
		kind Kind
	}{
		{`{"a":1} ,{"b":2}`, 7, 0},
		{`  [1,2]]`, 7, 0},
		{`"x"y`, 3, 0},
		{`123,`, 3, 0},
		{`123`, 3, 0}, // complete as far as Value can tell
		{`{"a":1`, 6, Truncated},
	}
	for _, tt := range tests {
		end, err := Value([]byte(tt.in))
		var kind Kind
		if e := (*Error)(nil); errors.As(err, &e) {
			kind = e.Kind
		}
		if end != tt.end || kind != tt.kind {
			t.Errorf("Value(%q) = %d, %v; want %d, %v", tt.in, end, err, tt.end, tt.kind)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	err := Check([]byte(`{"a" 1}`))
	if got, want := err.Error(), "invalid character '1' after object key"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	err = Check([]byte("\"\xff\""))
	if got, want := err.Error(), `invalid UTF-8 byte "\xff" in string`; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}

// FuzzValid holds the scanner to its contract: it accepts exactly the inputs
// that encoding/json.Valid accepts and that are valid UTF-8, and a failing
// Check names an offset inside the input.
func FuzzValid(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"d\u00e9\n"}`, `-1.5e+10`, `"\ud83d\ude00"`,
		"\"h\xc3\xa9llo w\xc3\xb6rld 12345678\"", `{"a":1,}`, `[1 2]`, "\"\xed\xa0\x80\"",
		`{"email_address":"jane.doe@example.com","first_name":"Jane","tags":["a","b"]}`,
		`tru`, `01`, ` null `, "\"\\u00zz\"", strings.Repeat("[", 70) + strings.Repeat("]", 70),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := Valid(b)
		want := json.Valid(b) && utf8.Valid(b)
		if got != want {
			t.Fatalf("Valid(%q) = %v; json.Valid && utf8.Valid = %v (Check: %v)", b, got, want, Check(b))
		}
		if err := Check(b); err != nil {
			e := err.(*Error)
			if e.Offset < 0 || e.Offset > len(b) || (e.Kind == Truncated && e.Offset != len(b)) {
				t.Fatalf("Check(%q) = %v at offset %d; out of range", b, e, e.Offset)
			}
		}
		// ValueLine is Value where there is no newline, and never
		// accepts a value that holds one.
		end, err := Value(b)
		lend, lerr := ValueLine(b)
		if bytes.IndexByte(b, '\n') < 0 && (end != lend || (err == nil) != (lerr == nil)) {
			t.Fatalf("ValueLine(%q) = %d, %v; Value = %d, %v", b, lend, lerr, end, err)
		}
		if lerr == nil && (err != nil || end != lend || bytes.IndexByte(b[:lend], '\n') >= 0) {
			t.Fatalf("ValueLine(%q) = %d, nil; Value = %d, %v", b, lend, end, err)
		}
	})
}

// TestSpecial checks special against a byte-by-byte definition for every
// pair of bytes at every pair of positions (which covers each borrow one
// byte can pass to another) over plain filler.
func TestSpecial(t *testing.T) {
	isSpecial := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	var w [8]byte
	for a := range 256 {
		for b := range 256 {
			for p := range 8 {
				for q := p + 1; q < 8; q++ {
					for k := range w {
						w[k] = 'a'
					}
					w[p], w[q] = byte(a), byte(b)
					want := 8
					for k, c := range w {
						if isSpecial(c) {
							want = k
							break
						}
					}
					if got := bits.TrailingZeros64(special(load64(w[:], 0))) >> 3; got != want {
						t.Fatalf("special(%q) finds byte %d; want %d", w, got, want)
					}
				}
			}
		}
	}
}

func TestValueLine(t *testing.T) {
	tests := []struct {
		in   string
		end  int
		kind Kind
	}{
		{"{\"a\":1}\n{}", 7, 0},
		{"{\"a\" :\t[1, 2] }\r\n", 15, 0},
		{"{\"a\":\n1}", 5, Syntax},
		{"[1,\n2]", 3, Syntax},
		{"\n{}", 0, Syntax},
		{"{\"a\":\"x\ny\"}", 7, Syntax},
	}
	for _, tt := range tests {
		end, err := ValueLine([]byte(tt.in))
		var kind Kind
		if e := (*Error)(nil); errors.As(err, &e) {
			kind = e.Kind
		}
		if end != tt.end || kind != tt.kind {
			t.Errorf("ValueLine(%q) = %d, %v; want %d, %v", tt.in, end, err, tt.end, tt.kind)
		}
	}
}
