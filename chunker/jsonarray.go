package chunker

import (
	"bytes"
	"io"

	"github.com/bulkload/bulkload/internal/jsonscan"
)

// arrayReader streams the elements of one top-level JSON array. Each element
// is scanned in the buffer with jsonscan.Value and, if it is an object, goes
// into the body as it is. An element that is valid JSON but not an object,
// holds invalid UTF-8, nests too deep or is larger than MaxRecordBytes is a
// bad record (rejected, or fatal under MaxRejects 0). A syntax error, or
// the end of input before the closing ']', ends the stream with a
// *RecordError naming the position: past that point the array's structure
// is lost.
type arrayReader struct {
	state   arrayState
	wrapped bool // the array is the "data" member of one object: {"data":[...]}
	closed  bool // wrapped: the object's '}' was read
}

type arrayState int

const (
	arrayStart arrayState = iota // before '['
	arrayFirst                   // after '[': an element or ']'
	arrayElem                    // after ',': an element
	arrayAfter                   // after an element: ',' or ']'
	arrayDone                    // after ']': only whitespace
)

func newArrayReader() *arrayReader { return &arrayReader{} }

func (a *arrayReader) read(c *Chunker) error {
	in := c.in
	for !c.full() {
		if !c.skipSpace() {
			if in.err != nil {
				return c.readError()
			}
			if a.state == arrayDone && a.wrapped && !a.closed {
				return c.streamError(in.pos, `unexpected end of input: the object around the "data" array is not closed`)
			}
			if a.state == arrayDone {
				return io.EOF
			}
			return c.streamError(in.pos, "unexpected end of input: the JSON array is not closed")
		}
		ch := in.buf[in.pos]
		switch a.state {
		case arrayStart:
			if ch != '[' {
				return c.streamError(in.pos, "invalid character "+quoteByte(ch)+" looking for the '[' that starts a JSON array")
			}
			in.consume(1)
			a.state = arrayFirst
		case arrayFirst, arrayElem:
			if ch == ']' && a.state == arrayFirst {
				in.consume(1)
				a.state = arrayDone
				continue
			}
			stop, err := a.element(c)
			if err != nil || stop {
				return err
			}
			a.state = arrayAfter
		case arrayAfter:
			switch ch {
			case ',':
				a.state = arrayElem
			case ']':
				a.state = arrayDone
			default:
				return c.streamError(in.pos, "invalid character "+quoteByte(ch)+" after array element")
			}
			in.consume(1)
		case arrayDone:
			if a.wrapped && !a.closed {
				if ch != '}' {
					return c.streamError(in.pos, "invalid character "+quoteByte(ch)+
						` after the "data" array: only an object whose one member is "data" is read as a wrapper; load the array alone (jq .data)`)
				}
				in.consume(1)
				a.closed = true
				continue
			}
			return c.streamError(in.pos, "invalid character "+quoteByte(ch)+" after top-level value")
		}
	}
	return nil
}

// element handles the element at in.pos. It returns stop if the element is
// a record that does not fit in the batch being built.
func (a *arrayReader) element(c *Chunker) (stop bool, err error) {
	in := c.in
	maxRec := c.cfg.MaxRecordBytes
	for {
		data := in.buf[in.pos:in.end]
		end, err := jsonscan.Value(data)
		se, _ := err.(*jsonscan.Error) // Value's errors are unwrapped *Errors; errors.As would allocate here
		// A value that ends where the buffer ends may go on: read more.
		if (se != nil && se.Kind == jsonscan.Truncated) || (err == nil && end == len(data)) {
			if len(data) > maxRec {
				return false, c.skipLargeValue()
			}
			if in.fill() {
				continue
			}
			if in.err != nil {
				return false, c.readError()
			}
			data = in.buf[in.pos:in.end] // fill moved the bytes even so
		}
		if se != nil {
			switch se.Kind {
			case jsonscan.Truncated:
				return false, c.streamError(in.end, "unexpected end of input: the JSON array is not closed")
			case jsonscan.Syntax:
				return false, c.streamError(in.pos+se.Offset, se.Msg)
			}
			// Invalid UTF-8 or too deep: a bad record, whose end a
			// structural scan finds.
			reason := ErrInvalidJSON
			if se.Kind == jsonscan.InvalidUTF8 {
				reason = ErrInvalidUTF8
			}
			i := in.pos + se.Offset
			e := c.recordError(in.lineAt(i), in.column(i), withDetail(reason, se.Msg))
			if c.cfg.MaxRejects == 0 {
				return false, e
			}
			var sk skipper
			n, done := sk.feed(data)
			if !done && len(data) <= maxRec && in.fill() {
				continue
			}
			if !done && in.eof && len(data) <= maxRec {
				if in.err != nil {
					return false, c.readError()
				}
				return false, c.streamError(in.end, "unexpected end of input: the JSON array is not closed")
			}
			if !done || n > maxRec {
				return false, c.skipLargeValue()
			}
			if err := c.reject(data[:n], false, e); err != nil {
				return false, err
			}
			in.consume(n)
			return false, nil
		}
		rec := data[:end]
		if len(rec) > maxRec {
			return false, c.skipLargeValue()
		}
		if rec[0] != '{' {
			if err := c.reject(rec, false, c.recordError(in.line, in.column(in.pos), ErrNotObject)); err != nil {
				return false, err
			}
			in.consume(end)
			return false, nil
		}
		if c.jc != nil {
			checked, bad := c.jc.check(c, rec, in.line, in.column(in.pos)-1)
			if bad != nil {
				if err := c.reject(rec, false, bad); err != nil {
					return false, err
				}
				in.consume(end)
				return false, nil
			}
			rec = checked
		}
		if !c.fits(len(rec)) {
			return true, nil
		}
		first := in.line
		in.consume(end)
		c.add(rec, first, in.line, in.offset(in.pos))
		return false, nil
	}
}

// skipSpace consumes whitespace, reading more as needed. It returns false at
// the end of input.
func (c *Chunker) skipSpace() bool {
	in := c.in
	for {
		i := in.pos
		for i < in.end && isSpace(in.buf[i]) {
			i++
		}
		in.consume(i - in.pos)
		if in.pos < in.end {
			return true
		}
		if !in.fill() {
			return false
		}
	}
}

// skipLargeValue rejects the value at in.pos as larger than MaxRecordBytes
// and reads past it without buffering it.
func (c *Chunker) skipLargeValue() error {
	in := c.in
	e := c.recordError(in.line, in.column(in.pos), ErrRecordTooLarge)
	if c.cfg.MaxRejects == 0 {
		return e
	}
	prefix := bytes.Clone(in.buf[in.pos:min(in.end, in.pos+RejectPrefixBytes)])
	var sk skipper
	for {
		n, done := sk.feed(in.buf[in.pos:in.end])
		in.consume(n)
		if done {
			break
		}
		if !in.fill() {
			if in.err != nil {
				return c.readError()
			}
			return c.streamError(in.end, "unexpected end of input: the JSON array is not closed")
		}
	}
	return c.reject(prefix, true, e)
}

// streamError reports a fault that ends a JSON array stream at buf[i].
func (c *Chunker) streamError(i int, msg string) error {
	e := c.recordError(c.in.lineAt(i), c.in.column(i), withDetail(ErrInvalidJSON, msg))
	e.Fatal = true
	return e
}

// skipper finds the end of a JSON value by tracking strings and nesting
// only, one chunk at a time, for values that are not kept.
type skipper struct {
	depth   int
	started bool
	scalar  bool // a number or literal: ends before a delimiter
	inStr   bool
	esc     bool
}

// feed consumes b and returns how many of its bytes belong to the value and
// whether the value ended.
func (s *skipper) feed(b []byte) (int, bool) {
	for i, ch := range b {
		if !s.started {
			s.started = true
			switch ch {
			case '{', '[':
				s.depth = 1
			case '"':
				s.inStr = true
			default:
				s.scalar = true
			}
			continue
		}
		switch {
		case s.inStr:
			switch {
			case s.esc:
				s.esc = false
			case ch == '\\':
				s.esc = true
			case ch == '"':
				s.inStr = false
				if s.depth == 0 {
					return i + 1, true
				}
			}
		case s.scalar:
			if ch == ',' || ch == ']' || ch == '}' || isSpace(ch) {
				return i, true
			}
		case ch == '"':
			s.inStr = true
		case ch == '{' || ch == '[':
			s.depth++
		case ch == '}' || ch == ']':
			s.depth--
			if s.depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(b), false
}
