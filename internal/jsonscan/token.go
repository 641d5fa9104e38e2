package jsonscan

// The slow paths of the scanner: escapes, non-ASCII text, numbers and
// literals. Each returns the index just past what it consumed, or the index
// of the offending byte and a non-zero Kind.

// scanEscape checks the escape sequence whose backslash is at b[i].
func scanEscape(b []byte, i int) (int, Kind) {
	i++
	if i >= len(b) {
		return len(b), Truncated
	}
	switch b[i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 1, 0
	case 'u':
		// encoding/json accepts any four hex digits here, lone surrogates
		// included (it decodes them to U+FFFD), so this does too.
		for k := 1; k <= 4; k++ {
			if i+k >= len(b) {
				return len(b), Truncated
			}
			if !isHex(b[i+k]) {
				return i + k, Syntax
			}
		}
		return i + 5, 0
	}
	return i, Syntax
}

func isHex(c byte) bool {
	return c-'0' < 10 || (c|0x20)-'a' < 6
}

// scanUTF8 checks the run of non-ASCII bytes starting at b[i] with the rules
// of utf8.Valid: no overlong forms, no surrogates, nothing above U+10FFFF.
// It stops at the first ASCII byte.
func scanUTF8(b []byte, i int) (int, Kind) {
	n := len(b)
	for i < n {
		c := b[i]
		if c < 0x80 {
			return i, 0
		}
		var size int
		lo, hi := byte(0x80), byte(0xBF) // allowed range of the second byte
		switch {
		case c < 0xC2: // continuation byte or overlong 2-byte form
			return i, InvalidUTF8
		case c < 0xE0:
			size = 2
		case c < 0xF0:
			size = 3
			if c == 0xE0 {
				lo = 0xA0 // overlong
			} else if c == 0xED {
				hi = 0x9F // surrogates
			}
		case c < 0xF5:
			size = 4
			if c == 0xF0 {
				lo = 0x90 // overlong
			} else if c == 0xF4 {
				hi = 0x8F // above U+10FFFF
			}
		default:
			return i, InvalidUTF8
		}
		for k := 1; k < size; k++ {
			if i+k >= n {
				return n, Truncated
			}
			if c := b[i+k]; c < lo || c > hi {
				return i, InvalidUTF8
			}
			lo, hi = 0x80, 0xBF
		}
		i += size
	}
	return i, 0
}

// scanNumber checks the number starting at b[i] ('-' or a digit) against the
// grammar of RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, *Error) {
	n := len(b)
	if b[i] == '-' {
		i++
		if i >= n {
			return n, truncated(n)
		}
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c-'1' < 9:
		i++
		for i < n && b[i]-'0' < 10 {
			i++
		}
	default:
		return i, syntaxError(b, i, "in numeric literal")
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n {
			return n, truncated(n)
		}
		if b[i]-'0' >= 10 {
			return i, syntaxError(b, i, "after decimal point in numeric literal")
		}
		for i < n && b[i]-'0' < 10 {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n {
			return n, truncated(n)
		}
		if b[i]-'0' >= 10 {
			return i, syntaxError(b, i, "in exponent of numeric literal")
		}
		for i < n && b[i]-'0' < 10 {
			i++
		}
	}
	return i, nil
}

// scanLiteralError explains why b[i:] does not start with true, false or
// null: either it is a prefix of one (Truncated) or a byte differs.
func scanLiteralError(b []byte, i int) (int, *Error) {
	var lit string
	switch b[i] {
	case 't':
		lit = "true"
	case 'f':
		lit = "false"
	default:
		lit = "null"
	}
	for k := 1; k < len(lit); k++ {
		if i+k >= len(b) {
			return len(b), truncated(len(b))
		}
		if b[i+k] != lit[k] {
			return i + k, syntaxError(b, i+k, "in literal "+lit+" (expecting "+quoteChar(lit[k])+")")
		}
	}
	return i, syntaxError(b, i, "looking for beginning of value") // not reached
}
