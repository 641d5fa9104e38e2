package chunker

import (
	"bytes"
	"fmt"
)

// The header row becomes a tree of output fields: a column per leaf, a
// nested object per dotted prefix, members in the order their first column
// appears. Each member carries its precomputed, escaped key prefix, so
// encoding a row is appends and copies only.

// csvField is a member of an output object: a column (col >= 0) or a
// nested object (children).
type csvField struct {
	name     string
	col      int
	prefix   []byte // `,"name":"` for a column, `,"name":{` for an object; the comma is dropped for a first member
	children []csvField
}

// parseHeader builds the field tree from the header row.
func (r *csvReader) parseHeader(c *Chunker, row []byte) error {
	r.ncols = len(r.cells)
	seen := map[string]bool{}
	for col, cell := range r.cells {
		name := string(cellValue(row, cell))
		fail := func(msg string) error {
			return c.recordError(c.in.lineAt(c.in.pos+cell.start), c.in.column(c.in.pos+cell.start),
				withDetail(ErrHeader, fmt.Sprintf("column %d %q: %s", col+1, name, msg)))
		}
		if seen[name] {
			return fail("named twice")
		}
		seen[name] = true
		path := bytes.Split([]byte(name), []byte("."))
		fields := &r.header
		for k, seg := range path {
			if len(seg) == 0 {
				return fail("empty name")
			}
			key, bad := appendString(nil, seg, false)
			if bad >= 0 {
				return fail("invalid UTF-8")
			}
			leaf := k == len(path)-1
			i := findField(*fields, string(seg))
			switch {
			case i < 0:
				prefix := append(append(make([]byte, 0, len(key)+24), ','), key...) // room for appendShort
				f := csvField{name: string(seg), col: -1, prefix: append(prefix, ':', '{')}
				if leaf {
					f.col = col
					f.prefix[len(f.prefix)-1] = '"'
				}
				*fields = append(*fields, f)
				i = len(*fields) - 1
			case leaf || (*fields)[i].col >= 0:
				return fail("is both a value and an object")
			}
			fields = &(*fields)[i].children
		}
	}
	return nil
}

func findField(fields []csvField, name string) int {
	for i := range fields {
		if fields[i].name == name {
			return i
		}
	}
	return -1
}

// cellValue returns a cell's value, undoing quoting.
func cellValue(row []byte, cell csvCell) []byte {
	v := row[cell.start:cell.end]
	if cell.quoted {
		v = bytes.ReplaceAll(v, []byte(`""`), []byte(`"`))
		v = bytes.ReplaceAll(v, []byte("\r\n"), []byte("\n"))
	}
	return v
}
