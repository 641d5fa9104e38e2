package load

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/join"
	"github.com/bulkload/bulkload/uploader"
)

// joinFile is the index that ties results to input lines, in a run's state
// directory (see package join).
const joinFile = "join.idx"

// joins reports whether this op ties results to input lines: a resumable
// run or upload of a file (standard input has no index).
func (o *op) joins() bool {
	return o.indexPath() != ""
}

// indexPath is the join index this op's uploads go into: a run's in its
// state directory; the uploads into a job share one per job (named with
// the job's creation time, since ids repeat), each batch under its file.
func (o *op) indexPath() string {
	switch {
	case o.dir == "" || o.stdinInput():
		return ""
	case o.set.Command == "run":
		return filepath.Join(o.dir, joinFile)
	case o.set.Command == "upload":
		return uploadsIndex(filepath.Dir(o.dir), o.jobID, o.set.JobCreatedAt)
	}
	return ""
}

// uploadsIndex is the join index of the uploads into job id.
func uploadsIndex(stateDir string, id int64, created string) string {
	return filepath.Join(stateDir, fmt.Sprintf("%d-%s-uploads.join", id, stamp(created)))
}

// stamp is a creation time (RFC 3339) as a file name part.
func stamp(created string) string {
	return strings.NewReplacer(":", "", "-", "", ".", "").Replace(created)
}

// file is the input's name in the join index: "" for a run (one input),
// the path for an upload (a job may take several).
func (o *op) indexFile() string {
	if o.set.Command == "upload" {
		return o.set.Input
	}
	return ""
}

// indexing is an uploader.Source that adds every batch to the join index
// as it passes; the uploader reads every batch, stored or not, so a
// resumed upload re-adds the ones already in (the index checks them).
type indexing struct {
	src  uploader.Source
	idx  *join.Index
	file string
}

func (s *indexing) Next() (chunker.Batch, error) {
	b, err := s.src.Next()
	if err == nil {
		err = s.idx.Add(b.Seq, s.file, b.Body, b.Lines)
	}
	return b, err
}

// openIndex opens the op's join index for the upload, or returns nil
// when the op does not join.
func (o *op) openIndex() (*join.Index, error) {
	if !o.joins() {
		return nil, nil
	}
	return join.OpenIndex(o.indexPath())
}

// liner ties result rows to input lines: a *join.Resolver for a full read
// (every row, in id order), a *join.Lookup for an errors-only read (the
// failed rows only).
type liner interface {
	Line(api.Result) (line int, file string)
	Stats() join.ResolverStats
	State() []byte
}

// unindexedSuffix marks a join index whose job also holds records it does
// not index (an upload from standard input, which is read once and keeps
// no index): a row of those could match an indexed record of the same
// content and take its line, so no row of the job is tied.
const unindexedSuffix = ".unindexed"

// markUnindexed records, before any of its records is sent, that an input
// the join index at path does not hold is uploaded into its job.
func markUnindexed(path, source string) error {
	f, err := os.OpenFile(path+unindexedSuffix, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("join index: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s: records of %s were uploaded without an index\n", time.Now().UTC().Format(time.RFC3339), source)
	if cerr := f.Sync(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("join index: %w", err)
	}
	return nil
}

// resolver ties this op's results to input lines, from the join index at
// path, or returns nil when there is none to tie by (standard input made
// no index; an index not sealed does not hold every batch). A full read is
// tied by a join.Resolver; an errors-only read, which skips the rows the
// Resolver needs, by a join.Lookup: by content, a line only where the
// record starts on one line of the whole index. Call done when the read is
// over. several reports an index of uploads, whose rows name their file.
func (o *op) resolver(path string) (res liner, done func(), several bool) {
	none := func() {}
	if path == "" {
		return nil, none, false
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, none, false
	}
	if fileExists(path + unindexedSuffix) {
		o.l.warn("result lines: job %d also holds records uploaded from standard input, which keep no index (%s); the results are written without their input lines", o.jobID, path+unindexedSuffix)
		return nil, none, false
	}
	idx, err := join.OpenIndex(path)
	if err != nil {
		o.l.warn("result lines: %v; the results are written without their input lines", err)
		return nil, none, false
	}
	several = strings.HasSuffix(path, "-uploads.join")
	if o.set.ErrorsOnly {
		lk, err := join.NewLookup(idx, join.LookupConfig{State: o.set.JoinState})
		if err != nil {
			idx.Close()
			o.l.warn("result lines: %v; the results are written without their input lines", err)
			return nil, none, false
		}
		return lk, func() {
			if err := lk.Err(); err != nil {
				o.l.warn("result lines: %v; the rows after it were written without their input lines", err)
			}
			lk.Close()
			idx.Close()
		}, several
	}
	repeats := o.m != nil && o.m.Upload.Duplicates > 0
	r, err := join.NewResolver(idx, join.ResolverConfig{Repeats: repeats, State: o.set.JoinState})
	if err != nil {
		idx.Close()
		o.l.warn("result lines: %v; the results are written without their input lines", err)
		return nil, none, false
	}
	return r, func() { idx.Close() }, several
}
