package chunker

import (
	"bytes"
	"fmt"
	"io"
)

// csvReader reads CSV or TSV with a header row, following RFC 4180 as
// encoding/csv does with LazyQuotes off: a field may be quoted, a quoted
// field may hold the separator, newlines and doubled quotes (""), "\r\n"
// ends a line like "\n" (also inside quoted fields), and empty lines are
// skipped. Each row becomes one JSON object written straight into the body:
// the header names the fields, a dotted name such as custom_fields.source
// builds nested objects, every value is a JSON string (the chunker does not
// guess types), and empty cells are left out. A row whose cells are all
// empty is skipped like a blank line, as spreadsheets export such rows.
//
// Bad rows: a row with more or fewer cells than the header
// (ErrFieldCount), a bare quote in an unquoted field (ErrBareQuote), a
// quoted field not closed properly (ErrQuote; the rest of that line is
// skipped), invalid UTF-8, or a row or encoding larger than MaxRecordBytes.
type csvReader struct {
	comma  byte
	header []csvField // the tree of output fields
	ncols  int
	cells  []csvCell  // the current row's cells, reused
	row    int        // rows read so far, the header being row 1, blank rows included
	stop   [256]bool  // bytes that end an unquoted run: comma, '\n', '"'
	commas uint64     // comma repeated in each byte, for fieldEnd
	bad    error      // after rowBad: ErrQuote or ErrBareQuote
	badEnd int        // after rowBad: where the bad row ends (with its line ending)
	pre    *preflight // with a documented Config.Type: the row check
}

// csvCell is a cell of the current row: data[start:end], relative to the
// row's start. A quoted cell's bytes are raw: "" still doubled, "\r\n" not
// yet "\n".
type csvCell struct {
	start, end int
	quoted     bool
	plain      bool // unquoted, and nothing in it needs escaping in JSON
}

// rowStatus is what scanRow found.
type rowStatus int

const (
	rowOK       rowStatus = iota
	rowNeedMore           // the row goes past the buffered data
	rowBad                // a quoting error at index bad; see csvReader.bad and badEnd
)

func newCSVReader(c *Chunker, comma byte) (*csvReader, error) {
	r := &csvReader{comma: comma, pre: newPreflight(c.cfg)}
	r.stop[comma], r.stop['\n'], r.stop['"'] = true, true, true
	r.commas = uint64(comma) * ones
	for {
		st, n, next, bad, err := r.nextRow(c)
		if err == io.EOF {
			return r, nil // no header: no records
		}
		if err != nil {
			return nil, err
		}
		r.row++
		if st == rowBad {
			return nil, c.recordError(c.in.lineAt(c.in.pos+bad), c.in.column(c.in.pos+bad), withDetail(ErrHeader, "bad quoting"))
		}
		if n == 0 {
			c.in.pos += next
			c.in.line++
			c.in.lineStart = c.in.offset(c.in.pos)
			continue // blank lines before the header
		}
		if err := r.parseHeader(c, c.in.buf[c.in.pos:c.in.pos+n]); err != nil {
			return nil, err
		}
		r.advance(c, n, next)
		return r, nil
	}
}

// nextRow scans the row at in.pos, reading more input as needed. It returns
// the row's length without line ending (n) and with it (next). At the end of
// input it returns io.EOF; a row longer than MaxRecordBytes is rejected and
// skipped, and nextRow goes on with the following one.
func (r *csvReader) nextRow(c *Chunker) (st rowStatus, n, next, bad int, err error) {
	in := c.in
	for {
		if in.pos == in.end && !in.fill() {
			if in.err != nil {
				return 0, 0, 0, 0, c.readError()
			}
			return 0, 0, 0, 0, io.EOF
		}
		data := in.buf[in.pos:in.end]
		st, n, next, bad = r.scanRow(data, in.eof)
		if st == rowBad && r.badEnd == len(data) && !in.eof {
			st = rowNeedMore // read the rest of the bad line too
		}
		if st != rowNeedMore {
			if n > c.cfg.MaxRecordBytes {
				if err := r.skipLargeRow(c); err != nil {
					return 0, 0, 0, 0, err
				}
				continue
			}
			return st, n, next, bad, nil
		}
		if len(data) > c.cfg.MaxRecordBytes+1 {
			if err := r.skipLargeRow(c); err != nil {
				return 0, 0, 0, 0, err
			}
			continue
		}
		if !in.fill() && in.err != nil {
			return 0, 0, 0, 0, c.readError()
		}
	}
}

// scanRow splits data into the cells of its first row. eof says no more
// input follows data.
func (r *csvReader) scanRow(data []byte, eof bool) (st rowStatus, n, next, bad int) {
	cells := r.cells[:0] // a local slice, stored back before each return

	i := 0
	for {
		if i < len(data) && data[i] == '"' {
			j := i + 1
			for {
				k := bytes.IndexByte(data[j:], '"')
				if k < 0 || (j+k+1 == len(data) && !eof) {
					r.cells = cells
					if eof {
						return r.badRow(ErrQuote, len(data), i) // never closed: the rest is the field
					}
					return rowNeedMore, 0, 0, 0
				}
				j += k
				if j+1 < len(data) && data[j+1] == '"' {
					j += 2
					continue
				}
				break
			}
			cells = append(cells, csvCell{start: i + 1, end: j, quoted: true})
			j++ // past the closing quote
			switch {
			case j == len(data):
				r.cells = cells
				return rowOK, j, j, 0 // eof, or more would have been asked for above
			case data[j] == r.comma:
				i = j + 1
				continue
			case data[j] == '\n':
				r.cells = cells
				return rowOK, j, j + 1, 0
			case data[j] == '\r' && j+1 < len(data) && data[j+1] == '\n':
				r.cells = cells
				return rowOK, j, j + 2, 0
			case data[j] == '\r' && j+1 == len(data):
				r.cells = cells
				if !eof {
					return rowNeedMore, 0, 0, 0
				}
				return rowOK, j, j + 1, 0 // a final '\r' is dropped, as encoding/csv does
			}
			r.cells = cells
			return r.badRow(ErrQuote, lineEnd(data, j), j)
		}
		j, plain := r.fieldEnd(data, i)
		if j == len(data) {
			if !eof {
				r.cells = cells
				return rowNeedMore, 0, 0, 0
			}
			end := j
			if end > i && data[end-1] == '\r' {
				end-- // a final '\r' is dropped, as encoding/csv does
				plain = false
			}
			cells = append(cells, csvCell{start: i, end: end, plain: plain})
			r.cells = cells
			return rowOK, end, j, 0
		}
		switch data[j] {
		case '"':
			r.cells = cells
			return r.badRow(ErrBareQuote, lineEnd(data, j), j)
		case '\n':
			end := j
			if end > i && data[end-1] == '\r' {
				end--
				plain = false // the '\r' was seen as special; the rest may be plain
			}
			cells = append(cells, csvCell{start: i, end: end, plain: plain})
			r.cells = cells
			return rowOK, end, j + 1, 0
		}
		cells = append(cells, csvCell{start: i, end: j, plain: plain})
		i = j + 1
	}
}

// badRow records a quoting error at data[bad] in a row that ends at
// data[end] (line ending included).
func (r *csvReader) badRow(reason error, end, bad int) (rowStatus, int, int, int) {
	r.bad, r.badEnd = reason, end
	return rowBad, 0, 0, bad
}

// lineEnd returns the index just past the '\n' that ends the line holding
// data[i], or len(data).
func lineEnd(data []byte, i int) int {
	if nl := bytes.IndexByte(data[i:], '\n'); nl >= 0 {
		return i + nl + 1
	}
	return len(data)
}

// advance consumes a row of length n (next with its line ending).
// skip rejects the current row (see Chunker.reject) with e, numbered as
// its row, and moves past it.
func (r *csvReader) skip(c *Chunker, row []byte, e *RecordError, n, next int) error {
	e.Row = r.row + 1
	if err := c.reject(row, false, e); err != nil {
		return err
	}
	r.row++
	r.advance(c, n, next)
	return nil
}

func (r *csvReader) advance(c *Chunker, n, next int) {
	in := c.in
	for _, cell := range r.cells {
		if cell.quoted {
			in.line += bytes.Count(in.buf[in.pos+cell.start:in.pos+cell.end], newline)
		}
	}
	in.pos += next
	if next > n {
		in.line++
		in.lineStart = in.offset(in.pos)
	}
}

func (r *csvReader) read(c *Chunker) error {
	in := c.in
	maxRec := c.cfg.MaxRecordBytes
	for !c.full() {
		st, n, next, bad, err := r.nextRow(c)
		if err != nil {
			return err
		}
		row := in.buf[in.pos : in.pos+n]
		if st == rowBad {
			if err := r.rejectBadQuote(c, bad); err != nil {
				return err
			}
			continue
		}
		if r.blank() {
			r.row++
			r.advance(c, n, next)
			continue
		}
		if len(r.cells) != r.ncols {
			e := c.recordError(in.line, 1, withDetail(ErrFieldCount,
				fmt.Sprintf("row has %d fields, header has %d", len(r.cells), r.ncols)))
			if err := r.skip(c, row, e, n, next); err != nil {
				return err
			}
			continue
		}

		if r.pre != nil {
			if col, reason := r.pre.check(row, r.cells); reason != nil {
				at := 0
				if col >= 0 {
					at = r.cells[col].start
				}
				e := c.recordError(in.lineAt(in.pos+at), in.column(in.pos+at), reason)
				if err := r.skip(c, row, e, n, next); err != nil {
					return err
				}
				continue
			}
		}

		mark := len(c.body)
		if c.n == 0 {
			if c.body == nil {
				c.newBody(2 * len(row)) // the JSON has the keys too
			}
			c.body = append(c.body, bodyPrefix...)
		} else {
			c.body = append(c.body, ',')
		}
		start := len(c.body)
		body, badAt := r.encode(c.body, row, r.header)
		c.body = body
		if badAt >= 0 {
			c.body = c.body[:mark]
			e := c.recordError(in.lineAt(in.pos+badAt), in.column(in.pos+badAt), ErrInvalidUTF8)
			if err := r.skip(c, row, e, n, next); err != nil {
				return err
			}
			continue
		}
		if len(c.body)-start > maxRec {
			c.body = c.body[:mark]
			e := c.recordError(in.line, 1, withDetail(ErrRecordTooLarge, "as JSON"))
			if err := r.skip(c, row, e, n, next); err != nil {
				return err
			}
			continue
		}
		if c.n > 0 && len(c.body)+len(bodySuffix) > c.cfg.MaxBatchBytes {
			c.body = c.body[:mark]
			return nil
		}
		r.row++
		first := in.line
		r.advance(c, n, next)
		last := in.line
		if next > n {
			last-- // the line ending took us to the next line
		}
		c.n++
		if c.n == 1 {
			c.firstLine = first
		}
		if c.cfg.RecordLines {
			c.lines = append(c.lines, first)
		}
		c.lastLine = last
		c.end = in.offset(in.pos)
	}
	return nil
}

// blank reports whether every cell of the current row is empty.
func (r *csvReader) blank() bool {
	for _, cell := range r.cells {
		if cell.end > cell.start {
			return false
		}
	}
	return true
}

// rejectBadQuote rejects the row at in.pos, whose quoting breaks at index
// bad, and skips to the end of the line holding that index (for a quoted
// field never closed, to the end of input).
func (r *csvReader) rejectBadQuote(c *Chunker, bad int) error {
	in := c.in
	e := c.recordError(in.lineAt(in.pos+bad), in.column(in.pos+bad), r.bad)
	e.Row = r.row + 1
	rec := bytes.TrimRight(in.buf[in.pos:in.pos+r.badEnd], "\r\n")
	if err := c.reject(rec, false, e); err != nil {
		return err
	}
	r.row++
	in.consume(r.badEnd)
	return nil
}

// skipLargeRow rejects the row at in.pos as larger than MaxRecordBytes and
// reads past it, tracking quotes, without buffering it.
func (r *csvReader) skipLargeRow(c *Chunker) error {
	in := c.in
	e := c.recordError(in.line, c.cfg.MaxRecordBytes+1, ErrRecordTooLarge)
	e.Row = r.row + 1
	if c.cfg.MaxRejects == 0 {
		return e
	}
	prefix := bytes.Clone(in.buf[in.pos:min(in.end, in.pos+RejectPrefixBytes)])
	quoted := false
	for {
		i := in.pos
		for ; i < in.end; i++ {
			if in.buf[i] == '"' {
				quoted = !quoted // "" toggles twice
			} else if in.buf[i] == '\n' && !quoted {
				break
			}
		}
		if i < in.end {
			in.consume(i + 1 - in.pos)
			break
		}
		in.consume(i - in.pos)
		if !in.fill() {
			if in.err != nil {
				return c.readError()
			}
			break
		}
	}
	r.row++
	return c.reject(prefix, true, e)
}
