package load

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/join"
	"github.com/bulkload/bulkload/uploader"
)

// joinFile is the index that ties results to input lines, in a run's state
// directory (see package join).
const joinFile = "join.idx"

// joins reports whether this op ties results to input lines: a resumable
// run of one input. (An upload into a job shared with other inputs, or a
// load of standard input, has no index.)
func (o *op) joins() bool {
	return o.dir != "" && o.set.Command == "run" && !o.stdinInput()
}

// indexing is an uploader.Source that adds every batch to the join index
// as it passes; the uploader reads every batch, stored or not, so a
// resumed upload re-adds the ones already in (the index checks them).
type indexing struct {
	src uploader.Source
	idx *join.Index
}

func (s *indexing) Next() (chunker.Batch, error) {
	b, err := s.src.Next()
	if err == nil {
		err = s.idx.Add(b.Seq, "", b.Body, b.Lines)
	}
	return b, err
}

// openIndex opens the op's join index for the upload, or returns nil
// when the op does not join.
func (o *op) openIndex() (*join.Index, error) {
	if !o.joins() {
		return nil, nil
	}
	return join.OpenIndex(filepath.Join(o.dir, joinFile))
}

// resolver ties this op's results to input lines, from the index of the
// job's run, or returns nil when there is none to tie by (errors-only
// reads skip rows the tie needs; uploads only, or standard input, made no
// index; an index not sealed does not hold every batch). The caller
// closes the index.
func (o *op) resolver(runDir string) (*join.Resolver, *join.Index) {
	if o.set.ErrorsOnly || runDir == "" {
		return nil, nil
	}
	path := filepath.Join(runDir, joinFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	idx, err := join.OpenIndex(path)
	if err != nil {
		o.l.warn("result lines: %v; the results are written without their input lines", err)
		return nil, nil
	}
	repeats := o.m != nil && o.m.Upload.Duplicates > 0
	res, err := join.NewResolver(idx, join.ResolverConfig{Repeats: repeats, State: o.set.JoinState})
	if err != nil {
		idx.Close()
		o.l.warn("result lines: %v; the results are written without their input lines", err)
		return nil, nil
	}
	return res, idx
}
