package apitest

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bulkload/bulkload/internal/jsonscan"
)

// syntaxError reports malformed JSON at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at byte %d: %s", e.off, e.msg)
}

// scanner walks the envelope of a request body (the top-level object and
// its "data" array) itself, and hands every value to jsonscan, which
// validates it in one pass, checks UTF-8 and caps nesting at
// jsonscan.MaxDepth without recursion. It never builds values: callers get
// byte spans of the input.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) fail(msg string) error { return &syntaxError{off: s.i, msg: msg} }

func (s *scanner) eof() error { return s.fail("unexpected end of input") }

// ws skips insignificant white space.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value consumes the value at s.i (no leading white space).
func (s *scanner) value() error {
	n, err := jsonscan.Value(s.b[s.i:])
	if err != nil {
		if je, ok := errors.AsType[*jsonscan.Error](err); ok {
			return &syntaxError{off: s.i + je.Offset, msg: je.Msg}
		}
		return &syntaxError{off: s.i, msg: err.Error()}
	}
	s.i += n
	return nil
}

// members consumes an object whose '{' is at s.i, calling val after each
// key (and its colon and white space) to consume that key's value; s.i is
// then at a byte of the input, never at its end. key is the raw key
// including its quotes.
func (s *scanner) members(val func(key []byte) error) error {
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) {
			return s.eof()
		}
		if s.b[s.i] != '"' {
			return s.fail("expected a string key")
		}
		start := s.i
		if err := s.str(); err != nil {
			return err
		}
		key := s.b[start:s.i]
		s.ws()
		if s.i >= len(s.b) {
			return s.eof()
		}
		if s.b[s.i] != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		s.ws()
		if s.i >= len(s.b) {
			return s.eof()
		}
		if err := val(key); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.eof()
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or '}'")
		}
	}
}

// elements consumes an array whose '[' is at s.i, calling elem to consume
// each element (s.i is at its first byte, never at the input's end).
func (s *scanner) elements(elem func() error) error {
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) {
			return s.eof()
		}
		if err := elem(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.eof()
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or ']'")
		}
	}
}

// plain marks the bytes that may appear unescaped in a string and need no
// further look: everything but '"', '\\' and control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str consumes a string whose opening quote is at s.i: an object key.
// It does not check UTF-8; callers check keys they keep.
func (s *scanner) str() error {
	b := s.b
	i := s.i + 1
	for {
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			s.i = i
			return s.eof()
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return nil
		case c == '\\':
			i++
			if i >= len(b) {
				s.i = i
				return s.eof()
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+4 >= len(b) {
					s.i = len(b)
					return s.eof()
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						s.i = i
						return s.fail("invalid \\u escape")
					}
				}
				i += 5
			default:
				s.i = i
				return s.fail("invalid escape")
			}
		default:
			s.i = i
			return s.fail("control character in string")
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// memberIter walks the members of a JSON object already known to be valid
// (a stored record). It allocates nothing.
type memberIter struct {
	s    scanner
	done bool
}

func newMemberIter(obj []byte) memberIter {
	it := memberIter{s: scanner{b: obj}}
	it.s.ws()
	if it.s.i >= len(obj) || obj[it.s.i] != '{' {
		it.done = true
		return it
	}
	it.s.i++
	it.s.ws()
	if it.s.i < len(obj) && obj[it.s.i] == '}' {
		it.done = true
	}
	return it
}

// next returns the next member's raw key (with quotes) and raw value.
func (it *memberIter) next() (key, val []byte, ok bool) {
	if it.done {
		return nil, nil, false
	}
	s := &it.s
	start := s.i
	if s.str() != nil {
		it.done = true
		return nil, nil, false
	}
	key = s.b[start:s.i]
	s.ws()
	s.i++ // ':'
	s.ws()
	start = s.i
	if s.value() != nil {
		it.done = true
		return nil, nil, false
	}
	val = s.b[start:s.i]
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ',' {
		s.i++
		s.ws()
	} else {
		it.done = true
	}
	return key, val, true
}

// keyIs reports whether the raw key (quotes included) names name.
func keyIs(raw []byte, name string) bool {
	if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
		return true
	}
	if len(raw) <= len(name)+2 || !hasBackslash(raw) {
		return false // an escaped key is longer than its text
	}
	s, ok := decodeString(raw)
	return ok && s == name
}

// decodeString returns the text of a raw JSON string token.
func decodeString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if !hasBackslash(raw) {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func hasBackslash(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}
