package poller

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/bulkload/bulkload/api"
)

// Format is how Files encodes result rows.
type Format int

// The formats of result files. Each row holds the result id, its status, its
// error (null or empty on success), the id of the resource it created or
// updated (see ResourceID), whether it was created or updated (see
// UpsertType), the input line where its record starts (empty when not
// known: see FilesConfig.Line) and the record as it was uploaded.
const (
	// JSONLines writes one JSON object per line:
	//
	//	{"id":1,"status":"success","error":null,"resource_id":9001,"upsert_type":"create","line":2,"record":{...}}
	//
	// with "line" null when not known, and a "file" member after "line"
	// when the row names its input file.
	JSONLines Format = iota
	// CSV writes the header _line,_id,_status,_error,_resource_id,_upsert_type
	// (with _file after _line when FilesConfig.WithFile is set), then the
	// record's columns, then one line per row with the record's fields in
	// those columns: nested objects flattened to dotted names
	// (custom_fields.source), strings as they are, numbers and booleans as
	// JSON text, null as empty, arrays as compact JSON. See
	// FilesConfig.Columns for the columns' order.
	CSV
)

func (f Format) String() string {
	switch f {
	case JSONLines:
		return "jsonl"
	case CSV:
		return "csv"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Row is a result with the place of its record in the input: what Files
// writes.
type Row struct {
	api.Result
	// Line is the 1-based input line where the record starts; 0 when not
	// known.
	Line int
	// File is the input file; "" for a run of one input.
	File string
}

// csvPrefix is the start of a CSV results header; csvFile goes after _line
// when rows name their file.
var csvPrefix = []string{"_line", "_id", "_status", "_error", "_resource_id", "_upsert_type"}

const csvFile = "_file"

// ResourceID returns the JSON text of the id of the resource a result
// created or updated, or nil if it has none: resource.id when present (the
// shape of most job types), else the id of the first member, in key order,
// that is an object with an id, such as resource.person.id for person/upsert
// or resource.event.id for calendar/events/upsert.
func ResourceID(resource json.RawMessage) json.RawMessage {
	var members map[string]json.RawMessage
	if json.Unmarshal(resource, &members) != nil || members == nil {
		return nil
	}
	if id := members["id"]; isID(id) {
		return id
	}
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var inner struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(members[k], &inner) == nil && isID(inner.ID) {
			return inner.ID
		}
	}
	return nil
}

// UpsertType returns resource.upsert_type ("create" or "update" for
// person/upsert), or "" if the resource has none.
func UpsertType(resource json.RawMessage) string {
	var r struct {
		UpsertType *string `json:"upsert_type"`
	}
	if json.Unmarshal(resource, &r) != nil || r.UpsertType == nil {
		return ""
	}
	return *r.UpsertType
}

// isID reports whether v is a number or a non-empty string.
func isID(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9' || v[0] == '"' && len(v) > 2)
}

// jsonRow is a JSONLines row.
type jsonRow struct {
	ID         int64           `json:"id"`
	Status     api.Status      `json:"status"`
	Error      *string         `json:"error"`
	ResourceID json.RawMessage `json:"resource_id"`
	UpsertType *string         `json:"upsert_type"`
	Line       *int            `json:"line"`
	File       string          `json:"file,omitempty"`
	Record     json.RawMessage `json:"record"`
}

// encoder writes rows of one format to w.
type encoder interface {
	header() error // write the header if it is known; else at the first row
	row(Row) error
	flush() error // push what is buffered to w
}

// encoderConfig is what an encoder needs of FilesConfig.
type encoderConfig struct {
	format   Format
	columns  []string // CSV: the record's columns; nil: first seen
	withFile bool     // CSV: a _file column
}

func newEncoder(cfg encoderConfig, w io.Writer) (encoder, error) {
	switch cfg.format {
	case JSONLines:
		return &jsonlEncoder{w: bufio.NewWriterSize(w, 64<<10)}, nil
	case CSV:
		e := &csvEncoder{w: csv.NewWriter(bufio.NewWriterSize(w, 64<<10)), withFile: cfg.withFile} // csv keeps this buffer
		if cfg.columns != nil {
			e.setColumns(cfg.columns)
		}
		return e, nil
	}
	return nil, fmt.Errorf("poller: unknown results format %v", cfg.format)
}

type jsonlEncoder struct {
	w   *bufio.Writer
	buf []byte
}

func (e *jsonlEncoder) header() error { return nil }

func (e *jsonlEncoder) row(r Row) error {
	rec := r.Record
	if len(rec) == 0 {
		rec = nil // null
	}
	jr := jsonRow{ID: r.ID, Status: r.Status, Error: r.Error, ResourceID: ResourceID(r.Resource), File: r.File, Record: rec}
	if u := UpsertType(r.Resource); u != "" {
		jr.UpsertType = &u
	}
	if r.Line > 0 {
		jr.Line = &r.Line
	}
	b, err := json.Marshal(jr)
	if err != nil {
		return fmt.Errorf("encoding result %d: %w", r.ID, err)
	}
	e.buf = append(append(e.buf[:0], b...), '\n')
	_, err = e.w.Write(e.buf)
	return err
}

func (e *jsonlEncoder) flush() error { return e.w.Flush() }

type csvEncoder struct {
	w        *csv.Writer
	withFile bool
	columns  []string       // nil until known
	index    map[string]int // column -> position in columns
	wrote    bool           // the header is written (or was, before a resume)
	omitted  int64          // fields without a column
	flat     []field
	rec      []string
}

func (e *csvEncoder) setColumns(cols []string) {
	e.columns = slices.Clone(cols)
	e.index = make(map[string]int, len(cols))
	for i, c := range cols {
		if _, dup := e.index[c]; !dup {
			e.index[c] = i
		}
	}
}

func (e *csvEncoder) prefix() int {
	if e.withFile {
		return len(csvPrefix) + 1
	}
	return len(csvPrefix)
}

func (e *csvEncoder) header() error {
	if e.wrote || e.columns == nil {
		return nil
	}
	e.wrote = true
	h := make([]string, 0, e.prefix()+len(e.columns))
	h = append(h, csvPrefix[0])
	if e.withFile {
		h = append(h, csvFile)
	}
	h = append(append(h, csvPrefix[1:]...), e.columns...)
	return e.w.Write(h)
}

func (e *csvEncoder) row(r Row) error {
	var err error
	if e.flat, err = flatten(e.flat[:0], r.Record); err != nil {
		return fmt.Errorf("encoding result %d: %w", r.ID, err)
	}
	if e.columns == nil { // the first row sets the columns
		cols := make([]string, 0, len(e.flat))
		for _, f := range e.flat {
			cols = append(cols, f.name)
		}
		e.setColumns(cols)
	}
	if err := e.header(); err != nil {
		return err
	}
	var errText, line string
	if r.Error != nil {
		errText = *r.Error
	}
	if r.Line > 0 {
		line = strconv.Itoa(r.Line)
	}
	id := ResourceID(r.Resource)
	var rid string
	if len(id) > 0 && id[0] == '"' {
		_ = json.Unmarshal(id, &rid)
	} else {
		rid = string(id)
	}
	e.rec = append(e.rec[:0], line)
	if e.withFile {
		e.rec = append(e.rec, r.File)
	}
	e.rec = append(e.rec, strconv.FormatInt(r.ID, 10), string(r.Status), errText, rid, UpsertType(r.Resource))
	base := len(e.rec)
	for range e.columns {
		e.rec = append(e.rec, "")
	}
	for _, f := range e.flat {
		if i, ok := e.index[f.name]; ok {
			e.rec[base+i] = f.value
		} else {
			e.omitted++
		}
	}
	return e.w.Write(e.rec)
}

func (e *csvEncoder) flush() error {
	e.w.Flush()
	return e.w.Error()
}
