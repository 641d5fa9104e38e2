package poller

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
)

// Reject is an input record refused before upload (it could not be read,
// or failed a local check), for a RejectsFile.
type Reject struct {
	// Line is the 1-based input line where the record starts; 0 if not
	// known.
	Line int
	// File is the input file; "" for a run of one input.
	File string
	// Error says why the record was refused.
	Error string
	// Record is the record as it would have been sent, a JSON object; its
	// fields go into the record's columns, flattened as in CSV results.
	// Nil when the record could not be read: Fields are written instead.
	Record json.RawMessage
	// Fields are the input row's cells, in input order, written as they
	// are when Record is nil.
	Fields []string
}

// RejectsConfig configures a RejectsFile.
type RejectsConfig struct {
	// Path is the file to write, created (mode 0600) or truncated:
	// rejects are found again when a resumed run reads its input again.
	Path string
	// Columns are the record's columns in input order, as for
	// FilesConfig.Columns; nil takes the fields of the first reject
	// written.
	Columns []string
	// WithFile adds a _file column after _line, for a run of several
	// inputs.
	WithFile bool
}

// RejectsFile writes refused records as CSV: the header _line,_error
// (with _file after _line when configured), then the record's columns, and
// one line per reject, so that the file, fixed in a spreadsheet, can be
// loaded again once the _ columns are dropped. A RejectsFile is not safe
// for concurrent use; every error names the file.
type RejectsFile struct {
	path     string
	f        *os.File
	w        *csv.Writer
	withFile bool
	columns  []string
	index    map[string]int
	wrote    bool
	omitted  int64
	flat     []field
	rec      []string
	err      error
}

// CreateRejects creates the rejects file cfg names.
func CreateRejects(cfg RejectsConfig) (*RejectsFile, error) {
	if cfg.Path == "" {
		return nil, errors.New("poller: no rejects file")
	}
	f, err := os.OpenFile(cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("poller: opening rejects file: %w", err)
	}
	rf := &RejectsFile{path: cfg.Path, f: f, w: csv.NewWriter(bufio.NewWriterSize(f, 64<<10)), withFile: cfg.WithFile}
	if cfg.Columns != nil {
		rf.setColumns(cfg.Columns)
		if err := rf.header(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return rf, nil
}

func (rf *RejectsFile) setColumns(cols []string) {
	rf.columns = slices.Clone(cols)
	rf.index = make(map[string]int, len(cols))
	for i, c := range cols {
		if _, dup := rf.index[c]; !dup {
			rf.index[c] = i
		}
	}
}

func (rf *RejectsFile) header() error {
	if rf.wrote {
		return nil
	}
	rf.wrote = true
	h := []string{"_line"}
	if rf.withFile {
		h = append(h, csvFile)
	}
	h = append(append(h, "_error"), rf.columns...)
	return rf.fail(rf.w.Write(h))
}

// fail records err, if any, as the sticky error, naming the file.
func (rf *RejectsFile) fail(err error) error {
	if err != nil && rf.err == nil {
		rf.err = fmt.Errorf("poller: rejects file %s: %w", rf.path, err)
	}
	return rf.err
}

// Write buffers one reject. A field of Record without a column is left out
// and counted by Omitted; Fields beyond the columns are written past them.
func (rf *RejectsFile) Write(r Reject) error {
	if rf.err != nil {
		return rf.err
	}
	var err error
	if rf.flat, err = flatten(rf.flat[:0], r.Record); err != nil {
		return rf.fail(fmt.Errorf("line %d: %w", r.Line, err))
	}
	if rf.columns == nil {
		cols := make([]string, 0, len(rf.flat))
		for _, f := range rf.flat {
			cols = append(cols, f.name)
		}
		rf.setColumns(cols)
	}
	if err := rf.header(); err != nil {
		return err
	}
	line := ""
	if r.Line > 0 {
		line = strconv.Itoa(r.Line)
	}
	rf.rec = append(rf.rec[:0], line)
	if rf.withFile {
		rf.rec = append(rf.rec, r.File)
	}
	rf.rec = append(rf.rec, r.Error)
	base := len(rf.rec)
	if r.Record == nil {
		rf.rec = append(rf.rec, r.Fields...)
	} else {
		for range rf.columns {
			rf.rec = append(rf.rec, "")
		}
		for _, f := range rf.flat {
			if i, ok := rf.index[f.name]; ok {
				rf.rec[base+i] = f.value
			} else {
				rf.omitted++
			}
		}
	}
	return rf.fail(rf.w.Write(rf.rec))
}

// Omitted returns how many fields were left out for want of a column.
func (rf *RejectsFile) Omitted() int64 { return rf.omitted }

// Flush writes the buffered rejects to the file.
func (rf *RejectsFile) Flush() error {
	if rf.err != nil {
		return rf.err
	}
	rf.w.Flush()
	return rf.fail(rf.w.Error())
}

// Close flushes and closes the file.
func (rf *RejectsFile) Close() error {
	err := rf.Flush()
	if cerr := rf.f.Close(); err == nil && cerr != nil {
		err = rf.fail(cerr)
	}
	return err
}
