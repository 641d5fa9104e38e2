package chunker

import (
	"bytes"
	"fmt"
	"strings"
)

// The header row becomes a tree of output fields: a column per leaf, a
// nested object per dotted prefix, members in the order their first column
// appears, then constants (Config.Map entries without a column, and
// Config.UpsertKey when no column gives upsert_key) in the order given.
// Each member carries its precomputed, escaped key prefix, so encoding a
// row is appends and copies only.

// csvField is a member of an output object: a column (col >= 0), a
// constant (col == constField), or a nested object (children).
type csvField struct {
	name     string
	col      int
	prefix   []byte // `,"name":"` for a column, `,"name":{` for an object; the comma is dropped for a first member
	children []csvField
	// fixed is, for a constant, the whole member (`,"name":"value"`); for a
	// column, the JSON string written when its cell is empty (UpsertKey),
	// or nil to leave the member out.
	fixed []byte
}

// constField is csvField.col for a constant.
const constField = -2

// resultColumns are the columns a results or rejects CSV puts before the
// record's own (header "_line,_id,_status,_error,_resource_id,_upsert_type"
// or "_line,_error", with _file after _line for several inputs): a header
// that starts with _line drops them, so that
// such a file, fixed, loads again.
var resultColumns = map[string]bool{
	"_line": true, "_file": true, "_id": true, "_status": true, "_error": true, "_resource_id": true, "_upsert_type": true,
}

// headerCol is a header column and the field it gives.
type headerCol struct {
	name   string // as written
	target string // the field it gives
	drop   bool   // the column gives no field
	mapped bool   // target comes from a Config.Map entry
	loose  bool   // matched a Map entry or a field ignoring case and spaces
}

// parseHeader builds the field tree from the header row, applying
// Config.Map and Config.UpsertKey and, with Config.Type, checking it.
func (r *csvReader) parseHeader(c *Chunker, row []byte) error {
	r.ncols = len(r.cells)
	cols := make([]headerCol, len(r.cells))
	c.header = make([]string, len(r.cells))
	for i, cell := range r.cells {
		name := string(cellValue(row, cell))
		cols[i] = headerCol{name: name, target: name}
		c.header[i] = name
	}
	headerErr := func(col int, msg string) error {
		if strings.HasSuffix(msg, "invalid UTF-8") && c.encoding == "" {
			msg += " (try --encoding windows-1252)"
		}
		i := c.in.pos
		if col >= 0 {
			i += r.cells[col].start
		}
		return c.recordError(c.in.lineAt(i), c.in.column(i), withDetail(ErrHeader, msg))
	}
	mapErr := func(msg string) error {
		return c.recordError(c.in.line, 1, withDetail(ErrMapping, msg))
	}

	// Map entries claim columns: exactly by name first, then ignoring case
	// and surrounding spaces.
	var consts []MapEntry
	for _, e := range c.cfg.Map {
		if e.Column == "" {
			consts = append(consts, e)
			continue
		}
		col := findColumn(cols, e.Column)
		if col < 0 {
			return mapErr(fmt.Sprintf("map %q: the header has no column %q (it has %s)", e.Column+"="+e.Field, e.Column, columnList(cols)))
		}
		if cols[col].mapped {
			return mapErr(fmt.Sprintf("column %d %q is mapped twice", col+1, cols[col].name))
		}
		cols[col].target, cols[col].mapped, cols[col].drop = e.Field, true, e.Field == ""
		if cols[col].name != e.Column {
			cols[col].loose = true
			c.warn(Warning{Kind: WarnLooseMatch, Line: c.in.line, Field: cols[col].name,
				Message: fmt.Sprintf("column %q matched map entry %q ignoring case and spaces", cols[col].name, e.Column)})
		}
	}
	if len(cols) > 0 && cols[0].name == "_line" {
		for i := range cols {
			if resultColumns[cols[i].name] && !cols[i].mapped {
				cols[i].drop = true
			}
		}
	}
	if r.pre != nil {
		for i := range cols {
			if h := &cols[i]; !h.mapped && !h.drop {
				if f, ok := r.pre.typ.Fold(h.target); ok {
					h.target, h.loose = f, true
					c.warn(Warning{Kind: WarnLooseMatch, Line: c.in.line, Field: h.name,
						Message: fmt.Sprintf("column %q taken as %s (matched ignoring case and spaces)", h.name, f)})
				}
			}
		}
	}

	seen := map[string]int{}
	for col, h := range cols {
		if h.drop {
			continue
		}
		if prev, ok := seen[h.target]; ok {
			if !h.mapped && !h.loose && !cols[prev].mapped && !cols[prev].loose {
				return headerErr(col, fmt.Sprintf("column %d %q: named twice", col+1, h.name))
			}
			return headerErr(col, fmt.Sprintf("column %d %q gives field %q, as column %d %q does", col+1, h.name, h.target, prev+1, cols[prev].name))
		}
		seen[h.target] = col
		if msg := r.insert(h.target, col, nil); msg != "" {
			return headerErr(col, fmt.Sprintf("column %d %q: %s", col+1, h.name, msg))
		}
	}

	// Constants, then UpsertKey for the records that lack an upsert_key.
	for _, e := range consts {
		if col, ok := seen[e.Field]; ok && col == constField {
			return mapErr(fmt.Sprintf("set %s: set twice", e.Field))
		} else if ok {
			return mapErr(fmt.Sprintf("set %s: column %d %q gives that field too (drop it with --map %q)",
				e.Field, col+1, cols[col].name, cols[col].name+"="))
		}
		seen[e.Field] = constField
		val, bad := appendString(nil, []byte(e.Value), false)
		if bad >= 0 {
			return mapErr(fmt.Sprintf("set %s: value is not valid UTF-8", e.Field))
		}
		if msg := r.insert(e.Field, constField, val); msg != "" {
			return mapErr(fmt.Sprintf("set %s: %s", e.Field, msg))
		}
	}
	if k := c.cfg.UpsertKey; k != "" {
		val, _ := appendString(nil, []byte(k), false)
		switch col, ok := seen[upsertKeyField]; {
		case !ok:
			seen[upsertKeyField] = constField
			if msg := r.insert(upsertKeyField, constField, val); msg != "" {
				return mapErr("UpsertKey: " + msg)
			}
		case col >= 0:
			r.field(upsertKeyField).fixed = val
		}
	}
	if r.pre != nil {
		return r.pre.setup(c, r, cols, seen)
	}
	return nil
}

const upsertKeyField = "upsert_key"

// findColumn returns the column named name, exactly or else ignoring case
// and surrounding spaces (the first such), or -1.
func findColumn(cols []headerCol, name string) int {
	for i, h := range cols {
		if h.name == name {
			return i
		}
	}
	fold := strings.TrimSpace(name)
	for i, h := range cols {
		if strings.EqualFold(strings.TrimSpace(h.name), fold) {
			return i
		}
	}
	return -1
}

// columnList lists the header's column names for an error message.
func columnList(cols []headerCol) string {
	var names []string
	for _, h := range cols {
		names = append(names, fmt.Sprintf("%q", h.name))
	}
	if len(names) > 12 {
		names = append(names[:12], "...")
	}
	return strings.Join(names, ", ")
}

// insert adds the field at the dotted path target to the tree: column col,
// or a constant with the encoded JSON string value. It returns why it
// cannot, or "".
func (r *csvReader) insert(target string, col int, value []byte) string {
	path := strings.Split(target, ".")
	fields := &r.header
	for k, seg := range path {
		if seg == "" {
			return "empty name"
		}
		key, bad := appendString(nil, []byte(seg), false)
		if bad >= 0 {
			return "invalid UTF-8"
		}
		leaf := k == len(path)-1
		i := findField(*fields, seg)
		switch {
		case i < 0:
			prefix := append(append(make([]byte, 0, len(key)+24), ','), key...) // room for appendShort
			f := csvField{name: seg, col: -1, prefix: append(prefix, ':', '{')}
			if leaf {
				f.col = col
				f.prefix[len(f.prefix)-1] = '"'
				if col == constField {
					f.fixed = append(append(append([]byte(nil), prefix...), ':'), value...)
				}
			}
			*fields = append(*fields, f)
			i = len(*fields) - 1
		case leaf || (*fields)[i].col != -1:
			return "is both a value and an object"
		}
		fields = &(*fields)[i].children
	}
	return ""
}

// field returns the top-level field named name, which must exist.
func (r *csvReader) field(name string) *csvField {
	return &r.header[findField(r.header, name)]
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
