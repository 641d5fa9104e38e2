package chunker

import "encoding/binary"

// Encoding a CSV row as a JSON object, straight into the batch body.

// encode appends the JSON object for the current row to dst. If a cell is
// not valid UTF-8 it returns the row index of the bad byte, else -1.
//
// Every member is written with its prefix's leading comma; the first one's
// comma then becomes the object's '{' (an object with no members is "{}"),
// which spares a test and a re-slice per member.
func (r *csvReader) encode(dst, row []byte, fields []csvField) ([]byte, int) {
	open := len(dst)
	cells := r.cells
	for i := range fields {
		f := &fields[i]
		if f.col >= 0 {
			cell := &cells[f.col]
			if cell.end == cell.start {
				if f.fixed != nil {
					dst = append(dst, f.prefix[:len(f.prefix)-1]...)
					dst = append(dst, f.fixed...)
				}
				continue
			}
			v := row[cell.start:cell.end]
			if cell.plain {
				dst = appendMember(dst, f.prefix, v)
				continue
			}
			dst = appendShort(dst, f.prefix[:len(f.prefix)-1])
			var bad int
			if dst, bad = appendString(dst, v, cell.quoted); bad >= 0 {
				return dst, cell.start + bad
			}
			continue
		}
		if f.fixed != nil {
			dst = append(dst, f.fixed...)
			continue
		}
		mark := len(dst)
		dst = append(dst, f.prefix[:len(f.prefix)-1]...) // the object's own '{' comes from encode
		var bad int
		if dst, bad = r.encode(dst, row, f.children); bad >= 0 {
			return dst, bad
		}
		if len(dst) == mark+len(f.prefix)+1 { // ,"key":{} : every cell empty
			dst = dst[:mark]
		}
	}
	if len(dst) == open {
		return append(dst, '{', '}'), -1
	}
	dst[open] = '{' // was the first member's comma
	return append(dst, '}'), -1
}

// appendMember appends a member's key prefix (`,"name":"`), its plain value
// v and the closing quote. When both are at most 24 bytes with room past
// their ends (see appendShort), it copies them as 8-byte words.
func appendMember(dst, prefix, v []byte) []byte {
	n := len(dst)
	if len(prefix) > 24 || len(v) > 24 || cap(prefix) < 24 || cap(v) < 24 || cap(dst)-n < 49 {
		dst = append(dst, prefix...)
		dst = append(dst, v...)
		return append(dst, '"')
	}
	d := dst[n : n+49]
	p, s := prefix[:24], v[:24]
	binary.LittleEndian.PutUint64(d[0:8], binary.LittleEndian.Uint64(p[0:8]))
	binary.LittleEndian.PutUint64(d[8:16], binary.LittleEndian.Uint64(p[8:16]))
	binary.LittleEndian.PutUint64(d[16:24], binary.LittleEndian.Uint64(p[16:24]))
	d = d[len(prefix):]
	binary.LittleEndian.PutUint64(d[0:8], binary.LittleEndian.Uint64(s[0:8]))
	binary.LittleEndian.PutUint64(d[8:16], binary.LittleEndian.Uint64(s[8:16]))
	binary.LittleEndian.PutUint64(d[16:24], binary.LittleEndian.Uint64(s[16:24]))
	d[len(v)] = '"'
	return dst[:n+len(prefix)+len(v)+1]
}

// appendString appends s to dst as a JSON string. For a quoted CSV cell
// (raw), "" is one quote and "\r\n" is "\n". It returns the index in s of
// the first byte that is not valid UTF-8, or -1.
func appendString(dst, s []byte, raw bool) ([]byte, int) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i = plainEnd(s, i); i == len(s) {
			break
		}
		c := s[i]
		dst = append(dst, s[start:i]...)
		switch {
		case c >= 0x80:
			size := utf8Size(s[i:])
			if size == 0 {
				return dst, i
			}
			dst = append(dst, s[i:i+size]...)
			i += size
		case c == '"':
			dst = append(dst, '\\', '"')
			i++
			if raw {
				i++ // the second quote of ""
			}
		case c == '\\':
			dst = append(dst, '\\', '\\')
			i++
		case c == '\r' && raw && i+1 < len(s) && s[i+1] == '\n':
			i++ // "\r\n" in a quoted field is "\n"
		default:
			dst = appendControl(dst, c)
			i++
		}
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), -1
}

func appendControl(dst []byte, c byte) []byte {
	switch c {
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	const hex = "0123456789abcdef"
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
}

// escapeTable marks the bytes appendString cannot copy as they are.
var escapeTable = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80
	}
	return t
}()

// utf8Size returns the length of the valid UTF-8 sequence at the start of
// s, or 0 if there is none.
func utf8Size(s []byte) int {
	c := s[0]
	size := 0
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c < 0xC2:
		return 0
	case c < 0xE0:
		size = 2
	case c < 0xF0:
		size = 3
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c < 0xF5:
		size = 4
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 0
	}
	if len(s) < size {
		return 0
	}
	for k := 1; k < size; k++ {
		if s[k] < lo || s[k] > hi {
			return 0
		}
		lo, hi = 0x80, 0xBF
	}
	return size
}

// appendShort is append(dst, src...) for the short keys and values of a CSV
// row: when src is at most 24 bytes and both slices have room past their
// ends (src is part of the read buffer, key prefixes are allocated with
// room, the body is sized with slack), it copies three 8-byte words instead
// of calling memmove, which costs more than the copy at these sizes.
func appendShort(dst, src []byte) []byte {
	n := len(dst)
	if len(src) > 24 || cap(src) < 24 || cap(dst)-n < 24 {
		return append(dst, src...)
	}
	s, d := src[:24], dst[n:n+24]
	binary.LittleEndian.PutUint64(d[0:8], binary.LittleEndian.Uint64(s[0:8]))
	binary.LittleEndian.PutUint64(d[8:16], binary.LittleEndian.Uint64(s[8:16]))
	binary.LittleEndian.PutUint64(d[16:24], binary.LittleEndian.Uint64(s[16:24]))
	return dst[:n+len(src)]
}
