package chunker

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// Batch is one request body and where its records came from.
type Batch struct {
	// Seq is the batch's index in the sequence: 0 for the first.
	Seq int
	// Records is the number of records in Body, 1 to Config.MaxRecords.
	Records int
	// Body is exactly {"data":[record,record,...]}, ready to POST. It is
	// newly allocated for each batch and never touched by the chunker
	// again.
	Body []byte
	// Offset and End delimit the batch's part of the (decompressed and,
	// with an Encoding other than UTF-8, decoded) input:
	// [Offset, End). Batches tile the input: the first starts at 0, each
	// starts where the previous ended, and End is just past the last
	// record's line ending (or, in a JSON array, its last byte). Blank
	// lines and rejected records in between belong to the next batch.
	Offset, End int64
	// FirstLine is the line on which the first record starts, LastLine the
	// one on which the last record ends (1-based).
	FirstLine, LastLine int
	// Lines, with Config.RecordLines, holds the 1-based line on which each
	// record of Body starts, in Body's order: Lines[i] is where Body's
	// data[i] came from, so a per-record result can be joined to its
	// input line. Lines are those of the (decompressed, decoded) input: a
	// CSV record's line is where its row starts (a quoted newline makes
	// later rows start further down); header, blank and rejected lines
	// are counted but hold no record. len(Lines) == Records, Lines[0] ==
	// FirstLine, and lines grow strictly within a batch and across
	// batches. Nil without Config.RecordLines. Like Body it is new for
	// each batch.
	Lines []int
}

// Hash returns the SHA-256 of b.Body, which identifies the batch: the same
// input and Config give the same batches, so a resumed run can tell the
// batches it already stored by Seq and Hash. It is computed on each call
// (about 1 ms per MiB), off the chunker's own path, so callers that need it
// pay for it, in parallel if they like.
func (b Batch) Hash() [32]byte { return sha256.Sum256(b.Body) }

// HashHex returns Hash in lower-case hexadecimal.
func (b Batch) HashHex() string {
	h := b.Hash()
	return hex.EncodeToString(h[:])
}

// Stats counts what a Chunker has done.
type Stats struct {
	Batches    int64 // batches returned
	Records    int64 // records in those batches
	Rejects    int64 // bad records skipped (see Config.MaxRejects)
	Lines      int64 // lines consumed
	Bytes      int64 // decompressed input bytes consumed
	InputBytes int64 // bytes read from the underlying reader (compressed, for gzip)
}

// Chunker reads records from an input and returns them in batches. Next must
// be called from one goroutine at a time; Stats may be called from any
// goroutine at any time.
type Chunker struct {
	cfg    Config
	in     *input
	read   func(c *Chunker) error // the format's reader; its contract is at the top of jsonl.go
	closer []io.Closer
	err    error    // sticky: returned by every Next after the first failure
	header []string // CSV: the header row as written

	// the batch being built
	body      []byte
	n         int
	offset    int64 // where the next batch starts
	end       int64
	firstLine int
	lastLine  int
	seq       int
	bodyHint  int // capacity for the next body

	lines    []int           // with RecordLines: the line each record of the batch starts on
	encoding string          // the encoding in use, after byte order marks: "" is UTF-8
	delim    rune            // the CSV separator in use
	jc       *jsonCheck      // JSON input with UpsertKey or a documented Type
	warned   map[string]bool // warnings already reported

	rejects int   // bad records skipped so far
	records int64 // records in the batches returned so far

	// What Stats reports, published by publish when Next returns.
	raw   atomic.Int64 // InputBytes, counted as read
	stats struct{ batches, records, rejects, lines, bytes atomic.Int64 }
}

// New returns a Chunker reading r. A gzip stream (magic bytes 1f 8b) is
// decompressed. The format is cfg.Format, or when that is FormatAuto, the
// one Source's name implies, or else the one the first byte implies. New
// reads the start of r to decide; the errors it returns are about cfg or
// that start (a bad gzip header, an undetectable format, a bad CSV
// header). The Chunker does not close r.
func New(r io.Reader, cfg Config) (*Chunker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Source == "" {
		cfg.Source = "input"
	}
	c := &Chunker{cfg: cfg, firstLine: 1}
	if err := c.start(r); err != nil {
		c.Close()
		return nil, err
	}
	c.publish()
	return c, nil
}

// start sets up decompression and decoding, picks the format and dialect
// and reads a CSV header.
func (c *Chunker) start(r io.Reader) error {
	cfg := c.cfg
	br := bufio.NewReaderSize(&countingReader{r: r, n: &c.raw}, 512)
	var src io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("chunker: %s: gzip: %w", cfg.Source, err)
		}
		c.closer = append(c.closer, zr)
		src = zr
	}
	src, err := c.decode(src)
	if err != nil {
		return err
	}
	// The buffer must hold the largest record and what surrounds it; a
	// quarter more leaves room for a line ending and the next bytes.
	c.in = newInput(src, cfg.MaxRecordBytes+cfg.MaxRecordBytes/4+4096)
	c.in.skipBOM()

	format := cfg.Format
	if format == FormatAuto {
		format = FormatFromPath(cfg.Source)
	}
	if format == FormatAuto {
		if format, err = c.sniff(); err != nil {
			return err
		}
	}
	c.cfg.Format = format
	if len(cfg.Map) > 0 && (format == FormatJSONL || format == FormatJSONArray) {
		return fmt.Errorf("chunker: %s: %w: Map applies to CSV and TSV input, not %s", cfg.Source, ErrMapping, format)
	}
	switch format {
	case FormatJSONL, FormatJSONArray:
		c.jc = newJSONCheck(cfg)
	}
	switch format {
	case FormatJSONL:
		wrapped := false
		if cfg.Format == FormatAuto { // a format set in Config is taken at its word
			if wrapped, err = c.jsonShape(); err != nil {
				return err
			}
		}
		c.read = readJSONL
		if wrapped {
			c.cfg.Format = FormatJSONArray
			c.read = (&arrayReader{state: arrayFirst, wrapped: true}).read
		}
	case FormatJSONArray:
		c.read = newArrayReader().read
	case FormatCSV, FormatTSV:
		c.detectCR()
		comma := byte(cfg.Delimiter)
		if comma == 0 && format == FormatTSV {
			comma = '\t'
		}
		if comma == 0 {
			if comma, err = c.detectDelimiter(); err != nil {
				return err
			}
		}
		c.delim = rune(comma)
		cr, err := newCSVReader(c, comma)
		if err != nil {
			return err
		}
		c.read = cr.read
	}
	return nil
}

// Open opens the file at path ("-" is standard input) and returns a Chunker
// over it; Close closes the file. cfg.Source defaults to path ("stdin" for
// "-").
func Open(path string, cfg Config) (*Chunker, error) {
	var f *os.File
	if path == "-" {
		f = os.Stdin
		if cfg.Source == "" {
			cfg.Source = "stdin"
		}
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("chunker: %w", err)
		}
		if cfg.Source == "" {
			cfg.Source = path
		}
	}
	c, err := New(f, cfg)
	if err != nil {
		if f != os.Stdin {
			f.Close()
		}
		return nil, err
	}
	if f != os.Stdin {
		c.closer = append(c.closer, f)
	}
	return c, nil
}

// Close releases what the Chunker opened: the gzip decompressor, and the
// file opened by Open (never standard input, never the reader given to New).
func (c *Chunker) Close() error {
	var errs []error
	for _, cl := range c.closer {
		errs = append(errs, cl.Close())
	}
	c.closer = nil
	return errors.Join(errs...)
}

// Format returns the format in use, after detection. A {"data":[...]}
// wrapper is FormatJSONArray.
func (c *Chunker) Format() Format { return c.cfg.Format }

// Delimiter returns the CSV or TSV separator in use, after detection, or 0
// for JSON input.
func (c *Chunker) Delimiter() rune { return c.delim }

// Header returns the CSV or TSV input's header row as written (before
// Config.Map), once New has read it; nil for JSON input.
func (c *Chunker) Header() []string { return c.header }

// Encoding returns the encoding the input is read in, after byte order
// marks: one of the Encoding* names, "utf-8" when none was set or found.
func (c *Chunker) Encoding() string {
	if c.encoding == "" {
		return EncodingUTF8
	}
	return c.encoding
}

// Next returns the next batch, or io.EOF after the last one. Any other error
// ends the stream: it is a *RecordError for a bad record (when
// Config.MaxRejects is 0) or a broken JSON array, ErrTooManyRejects, or a
// read error naming the source (a truncated gzip stream wraps
// io.ErrUnexpectedEOF). Records read before the error in the same batch are
// not returned, so the batches before it are those of the input without the
// error. Every later call returns the same error.
func (c *Chunker) Next() (Batch, error) {
	if c.err != nil {
		return Batch{}, c.err
	}
	c.body, c.n = nil, 0
	err := c.read(c)
	if err == nil || (err == io.EOF && c.n > 0) {
		c.body = append(c.body, bodySuffix...)
		b := Batch{
			Seq: c.seq, Records: c.n, Body: c.body,
			Offset: c.offset, End: c.end,
			FirstLine: c.firstLine, LastLine: c.lastLine, Lines: c.lines,
		}
		c.lines = nil
		c.seq++
		c.offset = c.end
		c.bodyHint = len(c.body) + len(c.body)/16 // batches of one input vary little in size
		c.records += int64(c.n)
		c.stats.batches.Add(1)
		c.body = nil
		c.publish()
		return b, nil
	}
	c.err = err
	c.body, c.lines = nil, nil
	c.publish()
	return Batch{}, err
}

// Stats returns counts as of the last return from Next (or New).
func (c *Chunker) Stats() Stats {
	return Stats{
		Batches:    c.stats.batches.Load(),
		Records:    c.stats.records.Load(),
		Rejects:    c.stats.rejects.Load(),
		Lines:      c.stats.lines.Load(),
		Bytes:      c.stats.bytes.Load(),
		InputBytes: c.raw.Load(),
	}
}

func (c *Chunker) publish() {
	in := c.in
	c.stats.records.Store(c.records)
	c.stats.rejects.Store(int64(c.rejects))
	lines := int64(in.line - 1)
	if in.offset(in.pos) > in.lineStart {
		lines++ // a line consumed in part, e.g. a last line without '\n'
	}
	c.stats.lines.Store(lines)
	c.stats.bytes.Store(in.offset(in.pos))
}

// fits reports whether a record of n bytes fits in the batch being built,
// which is then not full.
func (c *Chunker) fits(n int) bool {
	return c.n == 0 || (c.n < c.cfg.MaxRecords && len(c.body)+1+n+len(bodySuffix) <= c.cfg.MaxBatchBytes)
}

// full reports whether the batch being built can take no more records.
func (c *Chunker) full() bool { return c.n >= c.cfg.MaxRecords }

// add appends a valid record to the batch being built. firstLine is the
// line it starts on, lastLine the one it ends on, end the input offset just
// past it (and its line ending).
func (c *Chunker) add(rec []byte, firstLine, lastLine int, end int64) {
	if c.n == 0 {
		if c.body == nil {
			c.newBody(len(rec))
		}
		c.body = append(c.body, bodyPrefix...)
		c.firstLine = firstLine
	} else {
		c.body = append(c.body, ',')
	}
	if c.cfg.RecordLines {
		c.lines = append(c.lines, firstLine)
	}
	c.body = append(c.body, rec...)
	c.n++
	c.lastLine = lastLine
	c.end = end
}

// newBody allocates the body of the next batch, sized like the previous
// one or, for the first, like MaxRecords records of the first one's size,
// so that it seldom has to grow (and be copied).
func (c *Chunker) newBody(firstRecord int) {
	hint := c.bodyHint
	if hint == 0 {
		hint = bodyOverhead + c.cfg.MaxRecords*(firstRecord+1)*5/4
	}
	c.body = make([]byte, 0, max(min(hint, c.cfg.MaxBatchBytes), 4096))
}

// reject handles a bad record: it returns the error that ends the stream, or
// nil to skip the record and go on.
func (c *Chunker) reject(rec []byte, truncated bool, e *RecordError) error {
	if c.cfg.MaxRejects == 0 {
		return e
	}
	c.rejects++
	if c.cfg.MaxRejects > 0 && c.rejects > c.cfg.MaxRejects {
		c.rejects--
		return fmt.Errorf("%w (limit %d): %w", ErrTooManyRejects, c.cfg.MaxRejects, e)
	}
	if c.cfg.OnReject != nil {
		c.cfg.OnReject(Reject{Err: e, Record: bytes.Clone(rec), Truncated: truncated})
	}
	return nil
}

// recordError builds the error for a bad record.
func (c *Chunker) recordError(line, col int, err error) *RecordError {
	if c.encoding == "" && errors.Is(err, ErrInvalidUTF8) {
		err = &hintError{err: err, hint: "try --encoding windows-1252"}
	}
	return &RecordError{Source: c.cfg.Source, Line: line, Column: col, Err: err}
}

// readError wraps the input's read error, naming the source.
func (c *Chunker) readError() error {
	err := c.in.err
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // an EOF inside a gzip member
	}
	return fmt.Errorf("chunker: %s: read: %w", c.cfg.Source, err)
}
