package load

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/poller"
)

// rejectFile writes rejected input records as JSON Lines, one per line:
// {"source":..., "line":..., "column":..., "reason":..., "record":...}.
// The record is kept as a string (it may not be JSON at all), invalid UTF-8
// replaced. Created on the first reject only, mode 0600.
type rejectFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
	n    int64
	err  error
	// With CSV results, rejects are CSV too (see csvRejects): c is the
	// chunker they come from, for its header and delimiter.
	csv *poller.RejectsFile
	c   *chunker.Chunker
}

// RejectRow is one line of a rejects file: where the record was, why it
// was refused, and the record as read.
type RejectRow struct {
	Source    string `json:"source"`
	Line      int    `json:"line"`
	Column    int    `json:"column,omitempty"`
	Row       int    `json:"row,omitempty"` // CSV/TSV: the row, header being 1
	Reason    string `json:"reason"`
	Record    string `json:"record"`
	Truncated bool   `json:"truncated,omitempty"`
}

func (r *rejectFile) add(rej chunker.Reject) {
	if r.err != nil {
		return
	}
	if filepath.Ext(r.path) == ".csv" {
		r.addCSV(rej)
		return
	}
	if r.f == nil {
		// A dry run creates no results directory until it has a reject.
		if r.err = os.MkdirAll(filepath.Dir(r.path), 0o700); r.err != nil {
			return
		}
		r.f, r.err = os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if r.err != nil {
			return
		}
		r.w = bufio.NewWriter(r.f)
	}
	rec := rej.Record
	if !utf8.Valid(rec) {
		rec = []byte(string([]rune(string(rec)))) // replaces invalid bytes with U+FFFD
	}
	row := RejectRow{Record: string(rec), Truncated: rej.Truncated}
	if e := rej.Err; e != nil {
		row.Source, row.Line, row.Column, row.Row, row.Reason = e.Source, e.Line, e.Column, e.Row, e.Err.Error()
	}
	b, _ := json.Marshal(row)
	b = append(b, '\n')
	if _, err := r.w.Write(b); err != nil {
		r.err = err
		return
	}
	r.n++
}

// addCSV writes a reject as a CSV row: _line,_error, then the record's
// cells as the input has them (under the input's header, for CSV input),
// so that the file, fixed, loads again (its _ columns are dropped).
func (r *rejectFile) addCSV(rej chunker.Reject) {
	if r.csv == nil {
		if r.err = os.MkdirAll(filepath.Dir(r.path), 0o700); r.err != nil {
			return
		}
		cfg := poller.RejectsConfig{Path: r.path}
		if r.c != nil {
			cfg.Columns = r.c.Header()
		}
		if r.csv, r.err = poller.CreateRejects(cfg); r.err != nil {
			return
		}
	}
	row := poller.Reject{Error: "", Fields: []string{string(rej.Record)}}
	if e := rej.Err; e != nil {
		row.Line, row.Error = e.Line, e.Err.Error()
	}
	switch {
	case r.c != nil && r.c.Header() != nil && !rej.Truncated:
		cr := csv.NewReader(strings.NewReader(string(rej.Record)))
		cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = r.c.Delimiter(), -1, true
		if cells, err := cr.Read(); err == nil {
			row.Fields = cells
		}
	case json.Valid(rej.Record) && len(rej.Record) > 0 && rej.Record[0] == '{':
		row.Record, row.Fields = rej.Record, nil
	}
	if r.err = r.csv.Write(row); r.err == nil {
		r.n++
	}
}

// close flushes and closes the file; its error names the file.
func (r *rejectFile) close() error {
	if r.csv != nil {
		if err := r.csv.Close(); err != nil && r.err == nil {
			r.err = err
		}
		r.csv = nil
	}
	if r.f != nil {
		if err := r.w.Flush(); err != nil && r.err == nil {
			r.err = err
		}
		if err := r.f.Close(); err != nil && r.err == nil {
			r.err = err
		}
		r.f = nil
	}
	if r.err != nil {
		return fmt.Errorf("rejects file %s: %w", r.path, r.err)
	}
	return nil
}
