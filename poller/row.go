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
// updated (see ResourceID) and the record as it was uploaded.
const (
	// JSONLines writes one JSON object per line:
	// {"id":1,"status":"success","error":null,"resource_id":9001,"record":{...}}.
	JSONLines Format = iota
	// CSV writes a header line "id,status,error,resource_id,record", then
	// one line per row, with the record as compact JSON in the last column.
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

// csvHeader is the first line of a CSV results file.
var csvHeader = []string{"id", "status", "error", "resource_id", "record"}

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
	Record     json.RawMessage `json:"record"`
}

// encoder writes rows of one format to w.
type encoder interface {
	header() error
	row(api.Result) error
	flush() error // push what is buffered to w
}

func newEncoder(f Format, w io.Writer) (encoder, error) {
	switch f {
	case JSONLines:
		return &jsonlEncoder{w: bufio.NewWriterSize(w, 64<<10)}, nil
	case CSV:
		return &csvEncoder{w: csv.NewWriter(bufio.NewWriterSize(w, 64<<10))}, nil // csv keeps this buffer
	}
	return nil, fmt.Errorf("poller: unknown results format %v", f)
}

type jsonlEncoder struct {
	w   *bufio.Writer
	buf []byte
}

func (e *jsonlEncoder) header() error { return nil }

func (e *jsonlEncoder) row(r api.Result) error {
	rec := r.Record
	if len(rec) == 0 {
		rec = nil // null
	}
	b, err := json.Marshal(jsonRow{ID: r.ID, Status: r.Status, Error: r.Error, ResourceID: ResourceID(r.Resource), Record: rec})
	if err != nil {
		return fmt.Errorf("encoding result %d: %w", r.ID, err)
	}
	e.buf = append(append(e.buf[:0], b...), '\n')
	_, err = e.w.Write(e.buf)
	return err
}

func (e *jsonlEncoder) flush() error { return e.w.Flush() }

type csvEncoder struct {
	w   *csv.Writer
	rec []string
}

func (e *csvEncoder) header() error { return e.w.Write(csvHeader) }

func (e *csvEncoder) row(r api.Result) error {
	var errText, rec string
	if r.Error != nil {
		errText = *r.Error
	}
	if len(r.Record) > 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, r.Record); err != nil {
			return fmt.Errorf("encoding result %d: the record is not JSON: %w", r.ID, err)
		}
		rec = b.String()
	}
	id := ResourceID(r.Resource)
	var rid string
	if len(id) > 0 && id[0] == '"' {
		_ = json.Unmarshal(id, &rid)
	} else {
		rid = string(id)
	}
	e.rec = append(e.rec[:0], strconv.FormatInt(r.ID, 10), string(r.Status), errText, rid, rec)
	return e.w.Write(e.rec)
}

func (e *csvEncoder) flush() error {
	e.w.Flush()
	return e.w.Error()
}
