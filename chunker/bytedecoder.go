package chunker

import (
	"encoding/binary"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// byteDecoder converts a single-byte encoding (Windows-1252, ISO-8859-1)
// to UTF-8 as it is read. It gives the same text as x/text's charmap
// decoders, whose tables it uses, at several times their speed: runs of
// ASCII, most of any export, are copied eight bytes at a time.
type byteDecoder struct {
	r     io.Reader
	table *[256]utf8Char
	buf   []byte // raw bytes read, not yet decoded: buf[pos:end]
	pos   int
	end   int
	err   error  // r's error, returned once buf is drained
	pend  []byte // the rest of a character p had no room for, returned first
	spare [4]byte
}

// utf8Char is the UTF-8 encoding of one decoded byte.
type utf8Char struct {
	n int
	b [4]byte
}

// byteTable builds the decoding table of a charmap.
func byteTable(cm *charmap.Charmap) *[256]utf8Char {
	t := new([256]utf8Char)
	for c := range 256 {
		t[c].n = utf8.EncodeRune(t[c].b[:], cm.DecodeByte(byte(c)))
	}
	return t
}

var (
	windows1252Table = byteTable(charmap.Windows1252)
	iso88591Table    = byteTable(charmap.ISO8859_1)
)

func newByteDecoder(r io.Reader, table *[256]utf8Char) *byteDecoder {
	return &byteDecoder{r: r, table: table, buf: make([]byte, 64<<10)}
}

// Read decodes into p. Each byte becomes at most 3 bytes of UTF-8, so it
// reads at most len(p) raw bytes and keeps what does not fit for the next
// call (a character split across calls if p is smaller than it).
func (d *byteDecoder) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(d.pend) > 0 {
		n := copy(p, d.pend)
		d.pend = d.pend[n:]
		return n, nil
	}
	if d.pos == d.end {
		if d.err != nil {
			return 0, d.err
		}
		n, err := d.r.Read(d.buf[:min(len(d.buf), len(p))])
		d.pos, d.end, d.err = 0, n, err
		if n == 0 {
			return 0, err
		}
	}
	src := d.buf[d.pos:d.end]
	i, n := 0, 0
	for i < len(src) {
		if i+8 <= len(src) && n+8 <= len(p) {
			v := binary.LittleEndian.Uint64(src[i:])
			if v&highs == 0 {
				binary.LittleEndian.PutUint64(p[n:], v)
				i, n = i+8, n+8
				continue
			}
		}
		c := src[i]
		if c < 0x80 {
			if n == len(p) {
				break
			}
			p[n] = c
			i, n = i+1, n+1
			continue
		}
		ch := &d.table[c]
		if n+ch.n > len(p) {
			if n == 0 { // p is too small for even one character: split it
				d.spare = ch.b
				n = copy(p, d.spare[:ch.n])
				d.pend = d.spare[n:ch.n]
				i++
			}
			break
		}
		copy(p[n:], ch.b[:ch.n])
		i, n = i+1, n+ch.n
	}
	d.pos += i
	return n, nil
}
