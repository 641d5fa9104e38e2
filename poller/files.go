package poller

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

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
	// written after the last saved cursor are not written twice. Nil creates
	// the files, or truncates them if they exist.
	Resume *Offsets
}

// Offsets are the sizes of the two results files, in bytes, as of a Flush.
type Offsets struct {
	Success int64 `json:"success"`
	Errors  int64 `json:"errors"`
}

// Files writes results to a success file and an errors file as they stream,
// through a 64 KiB buffer each, so that memory stays flat however many rows
// pass. New files are created with mode 0600: records hold personal data.
//
// Use Write as Run's handler, and in Config.Progress call Flush (or Sync)
// before saving Stats.Cursor together with Offsets. Every error names the
// file, and once a file fails every later call returns the same error.
// A Files is not safe for concurrent use.
type Files struct {
	success, errors *resultFile
}

// resultFile is one results file.
type resultFile struct {
	path string
	f    *os.File
	n    int64 // bytes handed to f
	enc  encoder
	err  error // sticky
}

// CreateFiles opens the files cfg names; see FilesConfig.
func CreateFiles(cfg FilesConfig) (*Files, error) {
	if _, err := newEncoder(cfg.Format, io.Discard); err != nil {
		return nil, err
	}
	if cfg.Success != "" && cfg.Success == cfg.Errors {
		return nil, fmt.Errorf("poller: the success and errors files are both %s", cfg.Success)
	}
	var out Files
	var offs Offsets
	if cfg.Resume != nil {
		offs = *cfg.Resume
	}
	var err error
	if out.success, err = openResultFile(cfg.Success, cfg.Format, cfg.Resume != nil, offs.Success); err != nil {
		return nil, err
	}
	if out.errors, err = openResultFile(cfg.Errors, cfg.Format, cfg.Resume != nil, offs.Errors); err != nil {
		_ = out.success.close()
		return nil, err
	}
	return &out, nil
}

func openResultFile(path string, format Format, resume bool, offset int64) (*resultFile, error) {
	if path == "" {
		return nil, nil
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if resume {
		flags = os.O_WRONLY | os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("poller: opening results file: %w", err)
	}
	rf := &resultFile{path: path, f: f, n: offset}
	if resume {
		if err := rf.cut(offset); err != nil {
			f.Close()
			return nil, err
		}
	}
	rf.enc, _ = newEncoder(format, (*counter)(rf))
	if rf.n == 0 {
		if err := rf.enc.header(); err != nil {
			f.Close()
			return nil, rf.fail(err)
		}
	}
	return rf, nil
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

func (rf *resultFile) write(r api.Result) error {
	if rf.err != nil {
		return rf.err
	}
	if err := rf.enc.row(r); err != nil {
		return rf.fail(err)
	}
	return nil
}

func (rf *resultFile) flush(sync bool) error {
	if rf == nil {
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
	if rf == nil {
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
// the success file, an error in the errors file. A row whose file is not
// configured, or that is not final, is dropped.
func (f *Files) Write(r api.Result) error {
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

// Close flushes and closes the files.
func (f *Files) Close() error {
	return errors.Join(f.success.close(), f.errors.close())
}
