package chunker

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
)

// input is the chunker's read buffer over the decompressed stream. The
// unconsumed bytes are buf[pos:end]; readers parse them in place and
// advance pos. It also knows the input offset and line of pos.
type input struct {
	r    io.Reader
	buf  []byte
	pos  int   // first unconsumed byte
	end  int   // end of buffered bytes
	base int64 // input offset of buf[0]
	max  int   // the buffer never grows past this
	eof  bool  // r is exhausted (or failed, see err)
	err  error // read error other than io.EOF

	line      int   // 1-based line of buf[pos]
	lineStart int64 // input offset where that line starts
}

const initialBufSize = 256 << 10

func newInput(r io.Reader, max int) *input {
	return &input{r: r, buf: make([]byte, min(initialBufSize, max)), max: max, line: 1}
}

// offset returns the input offset of buf[i].
func (in *input) offset(i int) int64 { return in.base + int64(i) }

// fill reads more input after buf[end], first moving the unconsumed bytes to
// the front of the buffer and growing it (up to max) if it is full. It
// returns false if nothing could be added: at EOF, on a read error, or when
// the buffer is full at its maximum size. Either way the bytes may have
// moved: slices of buf taken before fill must be taken again.
func (in *input) fill() bool {
	if in.eof {
		return false
	}
	if in.pos > 0 {
		n := copy(in.buf, in.buf[in.pos:in.end])
		in.base += int64(in.pos)
		in.pos, in.end = 0, n
	}
	if in.end == len(in.buf) {
		if len(in.buf) >= in.max {
			return false
		}
		grown := make([]byte, min(2*len(in.buf), in.max))
		copy(grown, in.buf[:in.end])
		in.buf = grown
	}
	for range 100 {
		n, err := in.r.Read(in.buf[in.end:])
		in.end += n
		if err != nil {
			in.eof = true
			if !errors.Is(err, io.EOF) {
				in.err = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	in.eof, in.err = true, io.ErrNoProgress
	return false
}

// consume advances pos by n, counting the lines it passes.
func (in *input) consume(n int) {
	b := in.buf[in.pos : in.pos+n]
	if k := bytes.Count(b, newline); k > 0 {
		in.line += k
		in.lineStart = in.offset(in.pos + bytes.LastIndexByte(b, '\n') + 1)
	}
	in.pos += n
}

var newline = []byte{'\n'}

// column returns the 1-based column of buf[i], which must be at or after
// pos on the current line or a later one within the buffer.
func (in *input) column(i int) int {
	if nl := bytes.LastIndexByte(in.buf[in.pos:i], '\n'); nl >= 0 {
		return i - (in.pos + nl)
	}
	return int(in.offset(i)-in.lineStart) + 1
}

// lineAt returns the 1-based line of buf[i], i >= pos.
func (in *input) lineAt(i int) int {
	return in.line + bytes.Count(in.buf[in.pos:i], newline)
}

// skipBOM drops a UTF-8 byte order mark at the start of the stream.
func (in *input) skipBOM() {
	for in.end-in.pos < 3 && in.fill() {
	}
	if bytes.HasPrefix(in.buf[in.pos:in.end], []byte("\xef\xbb\xbf")) {
		in.pos += 3
		in.lineStart = 3
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n.Add(int64(n))
	return n, err
}
