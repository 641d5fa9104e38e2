// Package jsonscan validates JSON text in a single pass over a byte slice,
// without decoding it and, for valid input, without allocating.
//
// It accepts exactly what encoding/json.Valid accepts, with one deliberate
// difference: strings must be valid UTF-8 (encoding/json.Valid lets invalid
// bytes through and replaces them with U+FFFD when decoding, which would change
// a record silently). So for every input b,
//
//	jsonscan.Valid(b) == (json.Valid(b) && utf8.Valid(b))
//
// and a differential fuzz target holds it to that.
//
// The scanner is built for throughput on records such as a CRM export. A
// string's end is found in a bitmap of the special bytes ('"', '\\',
// control, non-ASCII) of the current 64-byte block, kept in a register and
// computed with four SSE2 compares on amd64 (SWAR elsewhere); the commonest
// shape, "key":"value", is recognised three bytes at a time; non-ASCII text
// is checked with the same rules as unicode/utf8; nesting is tracked in a
// bit stack. A record of a few hundred bytes costs no allocation and, in the
// common case, no function call per token. Nesting deeper than MaxDepth is
// an error, as it is for encoding/json.
//
// Callers that stream (the chunker) use Value, which reports a value cut short
// by the end of the slice as an error of kind Truncated, so they can read more
// input and scan again.
package jsonscan

import "math/bits"

// MaxDepth is the deepest nesting of objects and arrays accepted, the same
// limit as encoding/json: a value nested MaxDepth+1 levels deep is an error of
// kind TooDeep.
const MaxDepth = 10000

// Valid reports whether b is one JSON value, optionally surrounded by
// whitespace, whose strings are valid UTF-8.
func Valid(b []byte) bool {
	return Check(b) == nil
}

// Check returns nil if b is one JSON value, optionally surrounded by
// whitespace, whose strings are valid UTF-8. Otherwise it returns an *Error
// describing the first problem.
func Check(b []byte) error {
	end, err := Value(b)
	if err != nil {
		return err
	}
	for ; end < len(b); end++ {
		if !isSpace(b[end]) {
			return syntaxError(b, end, "after top-level value")
		}
	}
	return nil
}

// Value scans the JSON value that starts at the first non-whitespace byte of
// b and returns the index just past its last byte. Bytes after the value are
// not examined. On failure it returns an *Error; a value cut short by the end
// of b, including an empty or all-whitespace b, is an error of kind Truncated
// with Offset len(b).
//
// A number or literal that ends exactly at len(b) is complete as far as Value
// can tell; a streaming caller that may have more input must not trust such an
// end.
func Value(b []byte) (int, error) {
	end, e := scan(b, '\n')
	if e != nil {
		return end, e
	}
	return end, nil
}

// ValueLine is Value for JSON Lines: a newline is not whitespace, so the
// value must lie on one line. On a newline it returns an *Error of kind
// Syntax at the newline.
func ValueLine(b []byte) (int, error) {
	end, e := scan(b, ' ') // ' ' in place of '\n': no byte is newline-whitespace
	if e != nil {
		return end, e
	}
	return end, nil
}

// SWAR constants: one byte value repeated eight times.
const (
	ones   = 0x0101010101010101
	highs  = 0x8080808080808080
	quotes = 0x2222222222222222 // '"'
	slashs = 0x5c5c5c5c5c5c5c5c // '\\'
	spaces = 0x2020202020202020 // ' '
)

// special returns a mask with the high bit set in the lowest byte of v that is
// '"', '\\', below 0x20 or non-ASCII, and possibly in bytes above it; it is
// zero if there is no such byte. Bytes above the first hit may be flagged
// falsely (borrows propagate upwards only), so only the lowest set bit is
// meaningful.
//
// A non-ASCII byte needs no term of its own: v^'"' keeps its high bit, so
// (v^'"')-1 flags it unless v is 0xA2, and v-0x20 flags every byte from 0xA0
// up. TestSpecial checks this for every pair of bytes.
func special(v uint64) uint64 {
	return (((v ^ quotes) - ones) | ((v ^ slashs) - ones) | (v - spaces)) & highs
}

// skipPlain returns the index of the first byte at or after i that is '"',
// '\\', a control character or non-ASCII, looking eight bytes at a time. It
// stops early, at an index within 8 bytes of the end of b, when fewer than 8
// bytes remain; finishString deals with that tail. It is small enough to be
// inlined into scan's loop.
func skipPlain(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := special(load64(b, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	return i
}

// finishString scans the rest of a string from b[i], where skipPlain stopped,
// and returns the index just past the closing quote.
func finishString(b []byte, i int) (int, *Error) {
	var kind Kind
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i, kind = scanEscape(b, i); kind != 0 {
				return i, stringError(b, i, kind)
			}
		case c < ' ':
			return i, syntaxError(b, i, "in string literal")
		case c < 0x80:
			i++
		default:
			if i, kind = scanUTF8(b, i); kind != 0 {
				return i, stringError(b, i, kind)
			}
		}
		i = skipPlain(b, i)
	}
	return len(b), truncated(len(b))
}

// scan is Value without the interface conversion; nl is the byte that counts
// as a newline in whitespace ('\n', or ' ' for ValueLine). It is one loop
// with gotos so that a record's tokens cost no calls in the common case:
// value, after (a value ended), key and pop are the states of the grammar,
// and the innermost container kind lives in a register. A string's end is
// found in the special-byte mask of the current 64-byte block (cursor.go);
// escapes and non-ASCII text go to finishString. keyStr and valStr add a
// shortcut for the commonest shape of a record, "key":"value","key":...,
// checking the three bytes `":"` or `","` at once.
func scan(b []byte, nl byte) (int, *Error) {
	var (
		n     = len(b)
		i     = 0
		depth = 0
		stack uint64 // bit d: container at depth d+1 is an object (d < 64)
		deep  []bool // container kinds below depth 64
		inObj bool   // kind of the innermost open container
		e     *Error
		base  = -64  // start of the 64-byte block whose mask is smask (see cursor.go)
		smask uint64 // bit k: b[base+k] is special, or past the end
	)

value:
	for i < n && b[i] <= ' ' {
		if !isSpaceNL(b[i], nl) {
			return i, syntaxError(b, i, "looking for beginning of value")
		}
		i++
	}
	if i >= n {
		return n, truncated(n)
	}
	switch c := b[i]; {
	case c == '"':
		i++
		goto valStr
	case c == '{':
		if depth == MaxDepth {
			return i, &Error{Offset: i, Kind: TooDeep, Msg: "exceeded max depth"}
		}
		if depth < 64 {
			stack |= 1 << depth
		} else {
			deep = append(deep[:depth-64], true)
		}
		depth++
		inObj = true
		i++
		for i < n && isSpaceNL(b[i], nl) {
			i++
		}
		if i < n && b[i] == '}' {
			i++
			goto pop
		}
		goto key
	case c == '[':
		if depth == MaxDepth {
			return i, &Error{Offset: i, Kind: TooDeep, Msg: "exceeded max depth"}
		}
		if depth < 64 {
			stack &^= 1 << depth
		} else {
			deep = append(deep[:depth-64], false)
		}
		depth++
		inObj = false
		i++
		for i < n && isSpaceNL(b[i], nl) {
			i++
		}
		if i < n && b[i] == ']' {
			i++
			goto pop
		}
		goto value
	case c == '-' || c-'0' < 10:
		if i, e = scanNumber(b, i); e != nil {
			return i, e
		}
		goto after
	case c == 't' && i+4 <= n && string(b[i:i+4]) == "true",
		c == 'n' && i+4 <= n && string(b[i:i+4]) == "null":
		i += 4
		goto after
	case c == 'f' && i+5 <= n && string(b[i:i+5]) == "false":
		i += 5
		goto after
	case c == 't' || c == 'f' || c == 'n':
		return scanLiteralError(b, i)
	default:
		return i, syntaxError(b, i, "looking for beginning of value")
	}

pop:
	depth--
	if depth > 0 {
		if d := depth - 1; d < 64 {
			inObj = stack>>d&1 == 1
		} else {
			inObj = deep[d-64]
		}
	}

after:
	if depth == 0 {
		return i, nil
	}
	for i < n && isSpaceNL(b[i], nl) {
		i++
	}
	if i >= n {
		return n, truncated(n)
	}
	if inObj {
		switch b[i] {
		case ',':
			i++
			goto key
		case '}':
			i++
			goto pop
		}
		return i, syntaxError(b, i, "after object key:value pair")
	}
	switch b[i] {
	case ',':
		i++
		goto value
	case ']':
		i++
		goto pop
	}
	return i, syntaxError(b, i, "after array element")

key:
	for i < n && isSpaceNL(b[i], nl) {
		i++
	}
	if i >= n {
		return n, truncated(n)
	}
	if b[i] != '"' {
		return i, syntaxError(b, i, "looking for beginning of object key string")
	}
	i++
keyStr:
	if d := uint(i - base); d < 64 && smask>>d != 0 {
		i += bits.TrailingZeros64(smask >> d)
	} else {
		i, base, smask = nextBlock(b, i, base)
	}
	if i+4 <= n && load32(b, i)&0xffffff == quoteColonQuote {
		i += 3
		goto valStr
	}
	if i < n && b[i] == '"' {
		i++
	} else if i, e = finishString(b, i); e != nil {
		return i, e
	}
	for i < n && isSpaceNL(b[i], nl) {
		i++
	}
	if i >= n {
		return n, truncated(n)
	}
	if b[i] != ':' {
		return i, syntaxError(b, i, "after object key")
	}
	i++
	goto value

valStr:
	if d := uint(i - base); d < 64 && smask>>d != 0 {
		i += bits.TrailingZeros64(smask >> d)
	} else {
		i, base, smask = nextBlock(b, i, base)
	}
	if inObj && i+4 <= n && load32(b, i)&0xffffff == quoteCommaQuote {
		i += 3
		goto keyStr
	}
	if i < n && b[i] == '"' {
		i++
	} else if i, e = finishString(b, i); e != nil {
		return i, e
	}
	goto after
}

// The three bytes between a key and a string value, and between a string
// value and the next key, as the low bytes of a little-endian uint32.
const (
	quoteColonQuote = '"' | ':'<<8 | '"'<<16
	quoteCommaQuote = '"' | ','<<8 | '"'<<16
)

// isSpaceNL is isSpace with the newline byte given: '\n', or ' ' for none.
func isSpaceNL(c, nl byte) bool {
	return c <= ' ' && (c == ' ' || c == nl || c == '\t' || c == '\r')
}

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool {
	return c <= ' ' && (c == ' ' || c == '\n' || c == '\t' || c == '\r')
}
