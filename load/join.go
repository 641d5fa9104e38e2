package load

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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

// resolver ties this op's results to input lines, from the join index at
// path, or returns nil when there is none to tie by (errors-only reads skip
// rows the tie needs; standard input made no index; an index not sealed
// does not hold every batch). The caller closes the index.
// several reports an index of uploads, whose rows name their file.
func (o *op) resolver(path string) (res *join.Resolver, idx *join.Index, several bool) {
	if o.set.ErrorsOnly || path == "" {
		return nil, nil, false
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, false
	}
	idx, err := join.OpenIndex(path)
	if err != nil {
		o.l.warn("result lines: %v; the results are written without their input lines", err)
		return nil, nil, false
	}
	repeats := o.m != nil && o.m.Upload.Duplicates > 0
	res, err = join.NewResolver(idx, join.ResolverConfig{Repeats: repeats, State: o.set.JoinState})
	if err != nil {
		idx.Close()
		o.l.warn("result lines: %v; the results are written without their input lines", err)
		return nil, nil, false
	}
	return res, idx, strings.HasSuffix(path, "-uploads.join")
}
