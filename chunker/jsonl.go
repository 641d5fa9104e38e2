package chunker

import (
	"bytes"
	"errors"
	"io"

	"github.com/bulkload/bulkload/internal/jsonscan"
)

// Each format's reader is a func(c *Chunker) error that adds records to the
// batch being built until it is full (nil), the input ends (io.EOF), or the
// stream fails. A record that does not fit is left unconsumed for the next
// batch.

// readJSONL reads JSON Lines. A line is one record: its bytes, less
// surrounding whitespace and the line ending ("\n" or "\r\n"), go into the
// body as they are once validated. Blank lines are skipped; the last line
// may lack its '\n'.
func readJSONL(c *Chunker) error {
	in := c.in
	maxRec := c.cfg.MaxRecordBytes
	for !c.full() {
		data := in.buf[in.pos:in.end]
		// The common case, a compact record that fills its line, needs no
		// search for the newline: the validator finds the record's end.
		// Anything else takes the general path below.
		if len(data) > 0 && data[0] == '{' && c.jc == nil {
			end, err := jsonscan.ValueLine(data[:min(len(data), maxRec)])
			if next := lineEndAt(data, end); err == nil && next > 0 {
				if !c.fits(end) {
					return nil
				}
				in.pos += next
				c.add(data[:end], in.line, in.line, in.offset(in.pos))
				in.line++
				in.lineStart = in.offset(in.pos)
				continue
			}
		}
		line, next := data, len(data)
		if nl := bytes.IndexByte(data, '\n'); nl >= 0 {
			line, next = data[:nl], nl+1
		} else if len(data) > maxRec+1 { // too long even if it ends in "\r\n"
			if err := c.skipLongLine(); err != nil {
				return err
			}
			continue
		} else if !in.eof {
			in.fill()
			continue
		} else if in.err != nil {
			return c.readError()
		} else if len(data) == 0 {
			return io.EOF
		}

		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) > maxRec {
			if err := c.skipLongLine(); err != nil {
				return err
			}
			continue
		}
		s, e := 0, len(line)
		for s < e && isSpace(line[s]) {
			s++
		}
		for e > s && isSpace(line[e-1]) {
			e--
		}
		if s < e {
			rec := line[s:e]
			end, err := jsonscan.Value(rec)
			valid := err == nil && end == len(rec) && rec[0] == '{'
			var bad *RecordError
			if valid && c.jc != nil {
				rec, bad = c.jc.check(c, rec, in.line, s)
			}
			if bad != nil {
				if err := c.reject(line, false, bad); err != nil {
					return err
				}
			} else if valid {
				if !c.fits(len(rec)) {
					return nil
				}
				c.add(rec, in.line, in.line, in.offset(in.pos+next))
			} else if err := c.reject(line, false, c.jsonError(in.line, s, rec, end, err)); err != nil {
				return err
			}
		}
		in.pos += next
		in.line++
		in.lineStart = in.offset(in.pos)
	}
	return nil
}

// lineEndAt returns the index just past the line ending ("\n" or "\r\n") at
// data[i], or 0 if there is none there.
func lineEndAt(data []byte, i int) int {
	switch {
	case i < len(data) && data[i] == '\n':
		return i + 1
	case i+1 < len(data) && data[i] == '\r' && data[i+1] == '\n':
		return i + 2
	}
	return 0
}

// jsonError explains why rec, found at byte index col0 of line line, is not a
// record; end and err are what jsonscan.Value said about it.
func (c *Chunker) jsonError(line, col0 int, rec []byte, end int, err error) *RecordError {
	var se *jsonscan.Error
	switch {
	case errors.As(err, &se):
		reason := ErrInvalidJSON
		if se.Kind == jsonscan.InvalidUTF8 {
			reason = ErrInvalidUTF8
		}
		return c.recordError(line, col0+se.Offset+1, withDetail(reason, se.Msg))
	case end < len(rec):
		for end < len(rec) && isSpace(rec[end]) {
			end++
		}
		return c.recordError(line, col0+end+1,
			withDetail(ErrInvalidJSON, "invalid character "+quoteByte(rec[end])+" after top-level value"))
	}
	return c.recordError(line, col0+1, ErrNotObject)
}

// skipLongLine rejects the line at in.pos as longer than MaxRecordBytes and
// reads past it without buffering it.
func (c *Chunker) skipLongLine() error {
	in := c.in
	e := c.recordError(in.line, c.cfg.MaxRecordBytes+1, ErrRecordTooLarge)
	if c.cfg.MaxRejects == 0 {
		return e
	}
	prefix := bytes.Clone(in.buf[in.pos:min(in.end, in.pos+RejectPrefixBytes)])
	for {
		data := in.buf[in.pos:in.end]
		if nl := bytes.IndexByte(data, '\n'); nl >= 0 {
			in.pos += nl + 1
			break
		}
		in.pos = in.end
		if !in.fill() {
			if in.err != nil {
				return c.readError()
			}
			break
		}
	}
	in.line++
	in.lineStart = in.offset(in.pos)
	return c.reject(prefix, true, e)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// quoteByte formats c for an error message, as encoding/json does.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f && c != '\'' {
		return "'" + string(c) + "'"
	}
	const hex = "0123456789abcdef"
	return `'\x` + string(hex[c>>4]) + string(hex[c&15]) + "'"
}
