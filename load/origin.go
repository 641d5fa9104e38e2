package load

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/join"
)

// A Retry's input is a file of the first job's failures, kept in the state
// directory. Its results would name lines of that file, which the person
// reading them has never seen; they name instead the file and line each
// record came from in the first job's input. Reading the failures, Retry
// ties each to its line with a join.Lookup over the first job's index
// (errors-only: certain or none) and writes, beside the retry file, its
// origins file: one line per record of the retry file, "F L" (F indexes the
// files listed on the last line, "#files" and a JSON array; -1 0 when the
// line is not certain). The retry run's results map each row's line in the
// retry file through it.

const originsSuffix = ".origins"

// origins writes the origins file of a retry file as the failures are read.
type origins struct {
	lk    *join.Lookup
	idx   *join.Index
	input string // the first job's run input: the file of the index's ""
	f     *os.File
	w     *bufio.Writer
	files []string
	index map[string]int
}

// newOrigins starts the origins file of the retry file at path, tying
// the failures by the first job's index. Without an index that makes a
// line certain (none on this machine, one not sealed, one the job's
// uploads from standard input make incomplete), every record's origin is
// unknown: the retry's rows then name no line, rather than one of the
// retry file. Only a stop (ctx) while the index is sorted is an error.
func (o *op) newOrigins(ctx context.Context, path string) (*origins, error) {
	g := &origins{index: map[string]int{}}
	var err error
	if g.f, err = os.Create(path + originsSuffix); err != nil {
		return nil, fmt.Errorf("retry file: %w", err)
	}
	g.w = bufio.NewWriter(g.f)
	idxPath := uploadsIndex(filepath.Dir(path), o.jobID, createdAt(o.job))
	if dir, run := o.runOfJob(); run != nil {
		if run.Input == "" {
			return g, nil // standard input: no index
		}
		idxPath, g.input = filepath.Join(dir, joinFile), run.Input
	}
	if _, err := os.Stat(idxPath); errors.Is(err, fs.ErrNotExist) || fileExists(idxPath+unindexedSuffix) {
		return g, nil
	}
	unknown := func(err error) (*origins, error) {
		o.l.warn("retry lines: %v; the retry's result rows name no input line", err)
		return g, nil
	}
	idx, err := join.OpenIndex(idxPath)
	if err != nil {
		return unknown(err)
	}
	lk, err := join.NewLookup(idx, join.LookupConfig{})
	if err != nil {
		idx.Close()
		return unknown(err)
	}
	g.idx, g.lk = idx, lk
	if err := g.lk.Prepare(ctx); err != nil {
		if ctx.Err() != nil {
			g.close()
			os.Remove(g.f.Name())
			return nil, ctx.Err()
		}
		return unknown(err)
	}
	return g, nil
}

// add records where the failure r came from, as the next line.
func (g *origins) add(r api.Result) error {
	line, file := 0, ""
	if g.lk != nil {
		line, file = g.lk.Line(r)
	}
	if line <= 0 {
		_, err := g.w.WriteString("-1 0\n")
		return err
	}
	if file == "" {
		file = g.input
	}
	i, ok := g.index[file]
	if !ok {
		i = len(g.files)
		g.files, g.index[file] = append(g.files, file), i
	}
	_, err := fmt.Fprintf(g.w, "%d %d\n", i, line)
	return err
}

// finish writes the files and closes everything; err is the read's.
func (g *origins) finish(err error) error {
	if err == nil {
		files, _ := json.Marshal(g.files)
		_, err = fmt.Fprintf(g.w, "#files %s\n", files)
	}
	if err == nil {
		err = g.w.Flush()
	}
	if err == nil {
		err = g.f.Sync()
	}
	if cerr := g.close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(g.f.Name())
		return fmt.Errorf("retry origins: %w", err)
	}
	return nil
}

func (g *origins) close() error {
	if g.lk != nil {
		g.lk.Close()
		g.idx.Close()
	}
	return g.f.Close()
}

// fromOrigins ties result rows to the lines their records came from in
// another job's input: the inner liner's line in the retry file, mapped
// through the origins file.
type fromOrigins struct {
	liner
	files []string
	lines []uint64 // by line of the retry file - 1: file+1 << 32 | line; 0 unknown
	lost  int64    // rows tied in the retry file whose origin is not certain
}

// readOrigins reads the origins file at path over inner.
func readOrigins(path string, inner liner) (*fromOrigins, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &fromOrigins{liner: inner}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20) // the #files line lists every input's path
	for n := 1; sc.Scan(); n++ {
		s := sc.Text()
		if files, ok := strings.CutPrefix(s, "#files "); ok {
			if err := json.Unmarshal([]byte(files), &r.files); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			break
		}
		f, l, _ := strings.Cut(s, " ")
		fi, err1 := strconv.Atoi(f)
		li, err2 := strconv.ParseUint(l, 10, 32)
		if err1 != nil || err2 != nil || fi < -1 {
			return nil, fmt.Errorf("%s:%d: %q is not \"FILE LINE\"", path, n, s)
		}
		v := uint64(0)
		if fi >= 0 && li > 0 {
			v = uint64(fi+1)<<32 | li
		}
		r.lines = append(r.lines, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.files == nil {
		return nil, fmt.Errorf("%s: no #files line (cut short)", path)
	}
	for _, v := range r.lines {
		if v != 0 && int(v>>32) > len(r.files) {
			return nil, fmt.Errorf("%s: a line names file %d of %d", path, v>>32, len(r.files))
		}
	}
	return r, nil
}

// Line is the line and file the row's record came from, or none.
func (r *fromOrigins) Line(res api.Result) (int, string) {
	line, _ := r.liner.Line(res)
	if line <= 0 {
		return 0, ""
	}
	if line > len(r.lines) || r.lines[line-1] == 0 {
		r.lost++
		return 0, ""
	}
	v := r.lines[line-1]
	return int(uint32(v)), r.files[v>>32-1]
}

// Stats counts the rows whose origin is not certain as empty.
func (r *fromOrigins) Stats() join.ResolverStats {
	s := r.liner.Stats()
	s.Lines -= r.lost
	s.Empty += r.lost
	return s
}

// originsState tags the State of a fromOrigins: the tag, the rows lost
// so far (8 bytes, little endian), then the inner liner's State.
const originsState = 'O'

// State is the inner liner's, with the rows lost so far, so that a read
// that continues counts those of the whole read.
func (r *fromOrigins) State() []byte {
	return append(binary.LittleEndian.AppendUint64([]byte{originsState}, uint64(r.lost)), r.liner.State()...)
}

// splitOriginsState undoes State: the rows lost and the inner State. A
// state without the tag (saved before a read had origins) is all inner.
func splitOriginsState(p []byte) (lost int64, inner []byte) {
	if len(p) < 9 || p[0] != originsState {
		return 0, p
	}
	return int64(binary.LittleEndian.Uint64(p[1:9])), p[9:]
}

// Prepare is the inner liner's, if it has one.
func (r *fromOrigins) Prepare(ctx context.Context) error {
	if p, ok := r.liner.(interface{ Prepare(context.Context) error }); ok {
		return p.Prepare(ctx)
	}
	return nil
}
