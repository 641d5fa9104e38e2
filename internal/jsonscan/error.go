package jsonscan

import (
	"strconv"
	"unicode/utf8"
)

// Kind classifies an Error.
type Kind uint8

// The kinds of Error.
const (
	// Syntax: the input is not JSON.
	Syntax Kind = iota + 1
	// InvalidUTF8: a string holds bytes that are not valid UTF-8.
	InvalidUTF8
	// TooDeep: objects and arrays are nested more than MaxDepth levels.
	TooDeep
	// Truncated: the input ended inside a value.
	Truncated
)

// String returns a short lower-case name of k.
func (k Kind) String() string {
	switch k {
	case Syntax:
		return "syntax"
	case InvalidUTF8:
		return "invalid UTF-8"
	case TooDeep:
		return "too deep"
	case Truncated:
		return "truncated"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error describes the first problem found in an input. Its messages follow
// encoding/json's wording.
type Error struct {
	Offset int    // index in the input of the offending byte; its length for Truncated
	Kind   Kind   // what is wrong
	Msg    string // e.g. "invalid character 'x' after object key"
}

// Error returns e.Msg.
func (e *Error) Error() string { return e.Msg }

func truncated(n int) *Error {
	return &Error{Offset: n, Kind: Truncated, Msg: "unexpected end of JSON input"}
}

// syntaxError reports the byte b[i] as unexpected in the given context.
func syntaxError(b []byte, i int, context string) *Error {
	return &Error{Offset: i, Kind: Syntax, Msg: "invalid character " + quoteChar(b[i]) + " " + context}
}

// stringError builds the error for a problem found inside a string.
func stringError(b []byte, i int, k Kind) *Error {
	switch k {
	case Truncated:
		return truncated(i)
	case InvalidUTF8:
		return &Error{Offset: i, Kind: InvalidUTF8, Msg: "invalid UTF-8 byte " + strconv.Quote(string(b[i:i+1])) + " in string"}
	}
	return syntaxError(b, i, "in string escape code")
}

// quoteChar formats c the way encoding/json does in its messages.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	if c < utf8.RuneSelf {
		s := strconv.Quote(string(rune(c)))
		return "'" + s[1:len(s)-1] + "'"
	}
	return "byte " + strconv.QuoteToASCII(string([]byte{c}))
}
