package join

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// errSyntax is returned for text that is not JSON.
var errSyntax = errors.New("join: not a JSON value")

// canon builds the canonical form of JSON values: no insignificant
// whitespace, object members sorted by key, strings with their escapes
// decoded and written back with the fewest escapes, numbers as the
// shortest text of their float64 value, and of a key written twice only
// the last (as decoders keep it). Two texts a server could produce
// by re-serializing the same record have the same canonical form. The
// form is deliberately coarse (1.0 and 1 are one number, and integers past
// 2^53 may merge): merging two different records only makes a tie
// ambiguous, never wrong, because the true record is always among those
// that match. A canon is reused to spare allocations; it is not safe for
// concurrent use.
type canon struct {
	out   []byte
	spans []span // object members being sorted, a stack across levels
	tmp   []byte
}

// span is one object member in canon.out: out[start:colon] is the key,
// out[start:end] the whole member.
type span struct{ start, colon, end int }

// hash returns the 64-bit content hash of the JSON value b: the first 8
// bytes of the SHA-256 of its canonical form.
func (c *canon) hash(b []byte) (uint64, error) {
	c.out = c.out[:0]
	i, err := c.value(b, 0, 0)
	if err != nil {
		return 0, err
	}
	if skipSpace(b, i) != len(b) {
		return 0, errSyntax
	}
	return sum64(c.out), nil
}

func sum64(b []byte) uint64 {
	s := sha256.Sum256(b)
	return binary.LittleEndian.Uint64(s[:8])
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// value appends the canonical form of the value starting at b[i:] (after
// optional whitespace) and returns the index just past it.
func (c *canon) value(b []byte, i, depth int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '{':
		return c.object(b, i+1, depth+1)
	case '[':
		return c.array(b, i+1, depth+1)
	case '"':
		return c.str(b, i+1)
	case 't':
		return c.literal(b, i, "true")
	case 'f':
		return c.literal(b, i, "false")
	case 'n':
		return c.literal(b, i, "null")
	}
	return c.number(b, i)
}

func (c *canon) literal(b []byte, i int, lit string) (int, error) {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return 0, errSyntax
	}
	c.out = append(c.out, lit...)
	return i + len(lit), nil
}

func (c *canon) number(b []byte, i int) (int, error) {
	j := i
	for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		j++
	}
	if j == i {
		return 0, errSyntax
	}
	f, err := strconv.ParseFloat(string(b[i:j]), 64)
	switch {
	case err == nil:
		if f == 0 {
			f = 0 // -0 is 0
		}
		c.out = strconv.AppendFloat(c.out, f, 'g', -1, 64)
	case errors.Is(err, strconv.ErrRange):
		c.out = append(c.out, b[i:j]...) // out of float64's range: as written
	default:
		return 0, errSyntax
	}
	return j, nil
}

// plain marks the bytes a string copies as they are: printable ASCII but
// '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str decodes the string whose body starts at b[i:] and appends it with
// minimal escapes: only '"', '\\' and control characters.
func (c *canon) str(b []byte, i int) (int, error) {
	c.out = append(c.out, '"')
	for {
		j := i // copy the run of plain bytes at once
		for j < len(b) && plain[b[j]] {
			j++
		}
		c.out = append(c.out, b[i:j]...)
		if i = j; i >= len(b) {
			return 0, errSyntax
		}
		switch ch := b[i]; {
		case ch == '"':
			c.out = append(c.out, '"')
			return i + 1, nil
		case ch == '\\':
			var err error
			if i, err = c.escape(b, i); err != nil {
				return 0, err
			}
		case ch < 0x20:
			return 0, errSyntax
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				c.appendRune(r) // invalid bytes become U+FFFD, as encoding/json decodes them
			} else {
				c.out = append(c.out, b[i:i+n]...)
			}
			i += n
		}
	}
}

// escape decodes the escape at b[i:] ('\\' ...), appends its character and
// returns the index past it.
func (c *canon) escape(b []byte, i int) (int, error) {
	if i+1 >= len(b) {
		return 0, errSyntax
	}
	var r rune
	switch e := b[i+1]; e {
	case '"', '\\', '/':
		r = rune(e)
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		var n int
		if r, n = hex4(b, i+2); n < 0 {
			return 0, errSyntax
		}
		i += 4
		if r >= 0xD800 && r < 0xDC00 { // a surrogate pair?
			if lo, n := hex4(b, i+4); n >= 0 && i+3 < len(b) && b[i+2] == '\\' && b[i+3] == 'u' && lo >= 0xDC00 && lo < 0xE000 {
				r = (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000
				i += 6
			} else {
				r = utf8.RuneError
			}
		} else if r >= 0xDC00 && r < 0xE000 {
			r = utf8.RuneError
		}
	default:
		return 0, errSyntax
	}
	c.appendRune(r)
	return i + 2, nil
}

// hex4 reads 4 hex digits at b[i:]; n < 0 if there are none.
func hex4(b []byte, i int) (rune, int) {
	if i+4 > len(b) {
		return 0, -1
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	if err != nil {
		return 0, -1
	}
	return rune(v), 4
}

func (c *canon) appendRune(r rune) {
	switch {
	case r == '"' || r == '\\':
		c.out = append(c.out, '\\', byte(r))
	case r < 0x20:
		c.out = fmt.Appendf(c.out, `\u%04x`, r)
	default:
		c.out = utf8.AppendRune(c.out, r)
	}
}

func (c *canon) array(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errSyntax
	}
	c.out = append(c.out, '[')
	i = skipSpace(b, i)
	if i < len(b) && b[i] == ']' {
		c.out = append(c.out, ']')
		return i + 1, nil
	}
	for {
		var err error
		if i, err = c.value(b, i, depth); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, errSyntax
		}
		switch b[i] {
		case ',':
			c.out = append(c.out, ',')
			i++
		case ']':
			c.out = append(c.out, ']')
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

func (c *canon) object(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errSyntax
	}
	c.out = append(c.out, '{')
	i = skipSpace(b, i)
	if i < len(b) && b[i] == '}' {
		c.out = append(c.out, '}')
		return i + 1, nil
	}
	base, begin := len(c.spans), len(c.out)
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return 0, errSyntax
		}
		if len(c.spans) > base {
			c.out = append(c.out, ',')
		}
		start := len(c.out)
		var err error
		if i, err = c.str(b, i+1); err != nil {
			return 0, err
		}
		colon := len(c.out)
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return 0, errSyntax
		}
		c.out = append(c.out, ':')
		if i, err = c.value(b, i+1, depth); err != nil {
			return 0, err
		}
		c.spans = append(c.spans, span{start, colon, len(c.out)})
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, errSyntax
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '}' {
			return 0, errSyntax
		}
		break
	}
	c.sortMembers(base, begin)
	c.spans = c.spans[:base]
	c.out = append(c.out, '}')
	return i + 1, nil
}

// sortMembers rewrites the members c.spans[base:], written from
// c.out[begin:] with commas between them, in key order, keeping the last
// of a repeated key.
func (c *canon) sortMembers(base, begin int) {
	ms := c.spans[base:]
	if len(ms) == 1 {
		return
	}
	sorted := true
	for k := 1; k < len(ms) && sorted; k++ {
		sorted = bytes.Compare(c.out[ms[k-1].start:ms[k-1].colon], c.out[ms[k].start:ms[k].colon]) < 0
	}
	if sorted { // in key order already, no key twice: as written
		return
	}
	c.tmp = append(c.tmp[:0], c.out[begin:]...)
	for k := range ms { // make the spans relative to tmp
		ms[k].start -= begin
		ms[k].colon -= begin
		ms[k].end -= begin
	}
	tmp := c.tmp
	if len(ms) <= 32 { // insertion sort: stable, and quick for a record's few members
		for k := 1; k < len(ms); k++ {
			m := ms[k]
			key := tmp[m.start:m.colon]
			j := k
			for ; j > 0 && bytes.Compare(tmp[ms[j-1].start:ms[j-1].colon], key) > 0; j-- {
				ms[j] = ms[j-1]
			}
			ms[j] = m
		}
	} else {
		slices.SortStableFunc(ms, func(a, b span) int {
			return bytes.Compare(tmp[a.start:a.colon], tmp[b.start:b.colon])
		})
	}
	c.out = c.out[:begin]
	for k, m := range ms {
		if k+1 < len(ms) && bytes.Equal(tmp[m.start:m.colon], tmp[ms[k+1].start:ms[k+1].colon]) {
			continue // a repeated key: the last one counts, as decoders keep it
		}
		if len(c.out) > begin {
			c.out = append(c.out, ',')
		}
		c.out = append(c.out, tmp[m.start:m.end]...)
	}
}
