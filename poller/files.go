package poller

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bulkload/bulkload/api"
)

// FilesConfig configures Files. The zero value writes nothing.
type FilesConfig struct {
	// Format is the rows' encoding. Default JSONLines.
	Format Format
	// Success is the path of the file for success rows; "" drops them.
	Success string
	// Errors is the path of the file for error rows; "" drops them.
	Errors string
	// Resume, if set, reopens the files of an earlier run and cuts each to
	// its offset, saved with the cursor (see Files.Offsets), so that rows
	// written after the last saved cursor are not written twice. A CSV
	// file's header is not written again, and its columns are read back
	// from it. Nil creates the files, or truncates them if they exist.
	Resume *Offsets
	// Line, if set, gives the input line where a result's record starts
	// (0 when not known) and its input file ("" for a single input), such
	// as join.Resolver.Line. Write calls it once for every result, in the
	// order given, whether or not the row is then written, since a
	// resolver must see every result. Nil: no line.
	Line func(api.Result) (line int, file string)
	// Columns are the CSV columns of the record, in input order, as sent:
	// the input's header after mapping, with nested fields as dotted
	// names. Nil takes the fields of the first row written, in order. A
	// field of a later row that has no column is left out of the CSV
	// (JSON Lines keeps it) and counted by Files.Omitted.
	Columns []string
	// WithFile adds a _file column after _line in CSV files, for a run of
	// several inputs. JSON Lines rows name their file whenever Line gives
	// one.
	WithFile bool
}

// Offsets are the sizes of the two results files, in bytes, as of a Flush.
type Offsets struct {
	Success int64 `json:"success"`
	Errors  int64 `json:"errors"`
}

// Files writes results to a success file and an errors file as they stream,
// through a 64 KiB buffer each, so that memory stays flat however many rows
// pass. New files are created with mode 0600 (records hold personal data),
// by their first row: no empty file is left behind.
//
// Use Write as Run's handler, and in Config.Progress call Flush (or Sync)
// before saving Stats.Cursor together with Offsets. Every error names the
// file, and once a file fails every later call returns the same error.
// A Files is not safe for concurrent use.
type Files struct {
	success, errors *resultFile
	line            func(api.Result) (int, string)
}

// resultFile is one results file.
type resultFile struct {
	path string
	lazy *encoderConfig // set until a new file is created by its first row
	f    *os.File
	n    int64 // bytes handed to f
	enc  encoder
	csv  *csvEncoder // enc, when the format is CSV
	err  error       // sticky
}

// CreateFiles opens the files cfg names; see FilesConfig.
func CreateFiles(cfg FilesConfig) (*Files, error) {
	ec := encoderConfig{format: cfg.Format, columns: cfg.Columns, withFile: cfg.WithFile}
	if _, err := newEncoder(ec, io.Discard); err != nil {
		return nil, err
	}
	if cfg.Success != "" && cfg.Success == cfg.Errors {
		return nil, fmt.Errorf("poller: the success and errors files are both %s", cfg.Success)
	}
	out := Files{line: cfg.Line}
	var offs Offsets
	if cfg.Resume != nil {
		offs = *cfg.Resume
	}
	var err error
	if out.success, err = openResultFile(cfg.Success, ec, cfg.Resume != nil, offs.Success); err != nil {
		return nil, err
	}
	if out.errors, err = openResultFile(cfg.Errors, ec, cfg.Resume != nil, offs.Errors); err != nil {
		_ = out.success.close()
		return nil, err
	}
	return &out, nil
}

func openResultFile(path string, ec encoderConfig, resume bool, offset int64) (*resultFile, error) {
	if path == "" {
		return nil, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && offset == 0 {
		// Created by its first row: a job with no errors leaves no empty
		// errors file. Its folder must be there now, though.
		if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("poller: opening results file: %w", &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist})
		}
		return &resultFile{path: path, lazy: &ec}, nil
	}
	rf := &resultFile{path: path}
	if err := rf.open(ec, resume, offset); err != nil {
		return nil, err
	}
	return rf, nil
}

// open opens rf.path: a new file, or with resume the one there, cut to
// offset.
func (rf *resultFile) open(ec encoderConfig, resume bool, offset int64) error {
	path := rf.path
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if resume {
		flags = os.O_WRONLY | os.O_CREATE
		if ec.format == CSV {
			flags = os.O_RDWR | os.O_CREATE // to read the header back
		}
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return fmt.Errorf("poller: opening results file: %w", err)
	}
	rf.f, rf.n, rf.lazy = f, offset, nil
	if resume {
		if err := rf.cut(offset); err != nil {
			f.Close()
			return err
		}
	}
	rf.enc, _ = newEncoder(ec, (*counter)(rf))
	rf.csv, _ = rf.enc.(*csvEncoder)
	if rf.csv != nil && rf.n > 0 {
		if err := rf.readHeader(); err != nil {
			f.Close()
			return err
		}
	}
	if rf.n == 0 {
		if err := rf.enc.header(); err != nil {
			f.Close()
			return rf.fail(err)
		}
	}
	return nil
}

// cut truncates a resumed file to offset and moves to its end.
func (rf *resultFile) cut(offset int64) error {
	info, err := rf.f.Stat()
	if err != nil {
		return rf.fail(err)
	}
	if info.Mode().IsRegular() {
		if info.Size() < offset {
			return fmt.Errorf("poller: results file %s has %d bytes, fewer than the %d saved with the cursor",
				rf.path, info.Size(), offset)
		}
		if err := rf.f.Truncate(offset); err != nil {
			return rf.fail(err)
		}
	}
	if _, err := rf.f.Seek(offset, io.SeekStart); err != nil {
		return rf.fail(err)
	}
	return nil
}

// readHeader reads back the header of a resumed CSV file: it is not
// written again, and gives the columns when they were first seen.
func (rf *resultFile) readHeader() error {
	if info, err := rf.f.Stat(); err == nil && !info.Mode().IsRegular() {
		rf.csv.wrote = true // a pipe or a device: what was written is gone
		return nil
	}
	r := csv.NewReader(io.NewSectionReader(rf.f, 0, rf.n))
	r.FieldsPerRecord = -1
	h, err := r.Read()
	if err != nil {
		return fmt.Errorf("poller: results file %s: reading its header: %w", rf.path, err)
	}
	e := rf.csv
	p := e.prefix()
	want := append([]string{csvPrefix[0]}, csvPrefix[1:]...)
	if e.withFile {
		want = append([]string{csvPrefix[0], csvFile}, csvPrefix[1:]...)
	}
	if len(h) < p || !slices.Equal(h[:p], want) {
		return fmt.Errorf("poller: results file %s does not start with the header %s", rf.path, strings.Join(want, ","))
	}
	if e.columns == nil {
		e.setColumns(h[p:])
	} else if !slices.Equal(e.columns, h[p:]) {
		return fmt.Errorf("poller: results file %s has other columns than the record's", rf.path)
	}
	e.wrote = true
	return nil
}

// counter counts the bytes written to the file.
type counter resultFile

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	c.n += int64(n)
	return n, err
}

// fail records err as the file's sticky error, naming the file.
func (rf *resultFile) fail(err error) error {
	if rf.err == nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = &fs.PathError{Op: "write", Path: rf.path, Err: err}
		}
		rf.err = fmt.Errorf("poller: results file: %w", err)
	}
	return rf.err
}

func (rf *resultFile) write(r Row) error {
	if rf.err != nil {
		return rf.err
	}
	if rf.lazy != nil {
		if err := rf.open(*rf.lazy, false, 0); err != nil {
			rf.err = err
			return err
		}
	}
	if err := rf.enc.row(r); err != nil {
		return rf.fail(err)
	}
	return nil
}

func (rf *resultFile) flush(sync bool) error {
	if rf == nil || rf.lazy != nil {
		return nil
	}
	if rf.err != nil {
		return rf.err
	}
	if err := rf.enc.flush(); err != nil {
		return rf.fail(err)
	}
	if sync {
		if err := rf.f.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return rf.fail(err)
		}
	}
	return nil
}

func (rf *resultFile) close() error {
	if rf == nil || rf.lazy != nil {
		return nil
	}
	err := rf.flush(false)
	if cerr := rf.f.Close(); err == nil && cerr != nil {
		err = rf.fail(cerr)
	}
	return err
}

func (rf *resultFile) offset() int64 {
	if rf == nil {
		return 0
	}
	return rf.n
}

// Write buffers one result in the file its status belongs to: a success in
// the success file, an error in the errors file, with the line
// FilesConfig.Line gives. A row whose file is not configured, or that is
// not final, is dropped.
func (f *Files) Write(r api.Result) error {
	row := Row{Result: r}
	if f.line != nil {
		row.Line, row.File = f.line(r)
	}
	return f.WriteRow(row)
}

// WriteRow is Write for a row whose line is known already; it does not
// call FilesConfig.Line.
func (f *Files) WriteRow(r Row) error {
	var rf *resultFile
	switch r.Status {
	case api.StatusSuccess:
		rf = f.success
	case api.StatusError:
		rf = f.errors
	}
	if rf == nil {
		return nil
	}
	return rf.write(r)
}

// Flush writes the buffered rows to the files.
func (f *Files) Flush() error {
	return errors.Join(f.success.flush(false), f.errors.flush(false))
}

// Sync flushes, then commits the files to stable storage (fsync), so that
// the rows up to a cursor saved next survive a crash of the machine.
func (f *Files) Sync() error {
	return errors.Join(f.success.flush(true), f.errors.flush(true))
}

// Offsets returns the files' sizes: after Flush or Sync, the offsets to
// save with the cursor for FilesConfig.Resume.
func (f *Files) Offsets() Offsets {
	return Offsets{Success: f.success.offset(), Errors: f.errors.offset()}
}

// Omitted returns how many fields of the records written were left out of
// CSV files for want of a column (see FilesConfig.Columns).
func (f *Files) Omitted() int64 {
	var n int64
	for _, rf := range []*resultFile{f.success, f.errors} {
		if rf != nil && rf.csv != nil {
			n += rf.csv.omitted
		}
	}
	return n
}

// Close flushes and closes the files.
func (f *Files) Close() error {
	return errors.Join(f.success.close(), f.errors.close())
}
