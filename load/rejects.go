package load

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/bulkload/bulkload/chunker"
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

// close flushes and closes the file; its error names the file.
func (r *rejectFile) close() error {
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
