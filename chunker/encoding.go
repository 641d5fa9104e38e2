package chunker

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Character encodings. The input is converted to UTF-8 as it is read, by
// golang.org/x/text/encoding, so every reader sees UTF-8; lines, columns and
// offsets are then those of the converted text.

// The canonical encoding names Config.Encoding takes.
const (
	EncodingUTF8        = "utf-8"
	EncodingWindows1252 = "windows-1252"
	EncodingISO88591    = "iso-8859-1"
	EncodingUTF16LE     = "utf-16le"
	EncodingUTF16BE     = "utf-16be"
)

// ParseEncoding returns the canonical name of the encoding s names, in any
// case: "utf-8" (or "utf8"), "windows-1252" (or "cp1252"),
// "iso-8859-1" (or "latin1", "latin-1"), "utf-16le" or "utf-16be".
func ParseEncoding(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "utf-8", "utf8":
		return EncodingUTF8, nil
	case "windows-1252", "cp1252":
		return EncodingWindows1252, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		return EncodingISO88591, nil
	case "utf-16le", "utf16le":
		return EncodingUTF16LE, nil
	case "utf-16be", "utf16be":
		return EncodingUTF16BE, nil
	}
	return "", fmt.Errorf("chunker: unknown encoding %q (want utf-8, windows-1252, iso-8859-1, utf-16le or utf-16be)", s)
}

// decoder returns the x/text encoding for a canonical name; nil for UTF-8.
func decoder(name string) encoding.Encoding {
	switch name {
	case EncodingWindows1252:
		return charmap.Windows1252
	case EncodingISO88591:
		return charmap.ISO8859_1
	case EncodingUTF16LE:
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
	case EncodingUTF16BE:
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM)
	}
	return nil
}

// bomEncoding returns the encoding a byte order mark at the start of head
// announces, or "".
func bomEncoding(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		return EncodingUTF8
	case bytes.HasPrefix(head, []byte("\xff\xfe")):
		return EncodingUTF16LE
	case bytes.HasPrefix(head, []byte("\xfe\xff")):
		return EncodingUTF16BE
	}
	return ""
}

// decode looks at the start of the decompressed stream src: it refuses
// what is not text (a zip archive such as an .xlsx workbook, an old .xls
// workbook) and returns src converted to UTF-8 from Config.Encoding or the
// encoding a byte order mark announces. A UTF-8 byte order mark is left in
// place (input.skipBOM drops it), a UTF-16 one is consumed by the decoder.
func (c *Chunker) decode(src io.Reader) (io.Reader, error) {
	pb := bufio.NewReaderSize(src, 4096) // large reads go straight through once the peeked bytes are gone
	head, _ := pb.Peek(8)                // a short or failed peek: the input reports it later
	if err := c.notText(head); err != nil {
		return nil, err
	}
	enc := c.cfg.Encoding
	if bom := bomEncoding(head); bom != "" {
		if enc != "" && enc != bom {
			return nil, fmt.Errorf("chunker: %s: %w: it starts with a %s byte order mark but Encoding is %s",
				c.cfg.Source, ErrEncoding, strings.ToUpper(bom), enc)
		}
		enc = bom
	}
	c.encoding = enc
	switch enc {
	case EncodingWindows1252:
		return newByteDecoder(pb, windows1252Table), nil
	case EncodingISO88591:
		return newByteDecoder(pb, iso88591Table), nil
	}
	d := decoder(enc)
	if d == nil {
		return pb, nil
	}
	return transform.NewReader(pb, d.NewDecoder()), nil
}

// notText returns an error saying what the input is if its first bytes
// show it is a spreadsheet workbook rather than text.
func (c *Chunker) notText(head []byte) error {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return fmt.Errorf("chunker: %s: %w: it is a zip archive, such as an Excel workbook (.xlsx): save it as CSV (UTF-8) and load that",
			c.cfg.Source, ErrFormat)
	case bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return fmt.Errorf("chunker: %s: %w: it is an Excel 97-2003 workbook (.xls): save it as CSV (UTF-8) and load that",
			c.cfg.Source, ErrFormat)
	}
	return nil
}

// hintError adds a way forward to an error, as in "invalid UTF-8 (try
// --encoding windows-1252)"; errors.Is and As see through it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *hintError) Unwrap() error { return e.err }

// crReader turns every '\r' into '\n': the input's line ending, for input
// whose lines end in a lone CR (classic Mac OS, "CSV (Macintosh)" exports).
type crReader struct{ r io.Reader }

func (cr crReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	crToLF(p[:n])
	return n, err
}

func crToLF(b []byte) {
	for i := bytes.IndexByte(b, '\r'); i >= 0; {
		b[i] = '\n'
		k := bytes.IndexByte(b[i+1:], '\r')
		if k < 0 {
			break
		}
		i += 1 + k
	}
}

// detectCR switches CSV input to CR line endings if its first line ending
// is a lone '\r': no '\n' before it, and the byte after it not '\n'. JSON
// input is left alone: its bytes go to the server as they are, and CR-only
// JSON Lines are not a thing exporters write.
func (c *Chunker) detectCR() {
	in := c.in
	for {
		data := in.buf[in.pos:in.end]
		i := bytes.IndexAny(data, "\r\n")
		if i >= 0 && (data[i] == '\n' || i+1 < len(data)) {
			if data[i] == '\r' && data[i+1] != '\n' {
				crToLF(data)
				in.r = crReader{in.r}
			}
			return
		}
		if in.end-in.pos >= 64<<10 || !in.fill() {
			if i >= 0 && in.eof && in.err == nil { // a lone '\r' at the very end
				crToLF(in.buf[in.pos:in.end])
			}
			return
		}
	}
}
