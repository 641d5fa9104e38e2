package join

import (
	"bufio"
	"cmp"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/bulkload/bulkload/api"
)

// A Lookup ties result rows read on their own (the errors-only poll, which
// hands over the failed rows only) to input lines by content alone: a row
// gets a line when its record's content hash occurs at exactly one (file,
// line) of the whole index. See "The errors-only tie" in the package doc.
//
// # Why a sorted file
//
// The lookup needs, for any hash, every (file, line) it occurs at. The
// index holds that in upload order, 12 bytes per record. The choices were:
//
//   - a map, or a sorted array, of every record in memory: 36 MiB, or
//     12 MiB, per million records (1.8 GiB, or 600 MB, at 50M): unbounded.
//   - a scan of the index per page of results (about 100 error rows): no
//     memory, but 12 bytes × N read per page; at 50M records and 5% errors
//     that is 25,000 pages × 600 MB. Batching the pages into one scan would
//     hold every error row until the end, or write lines after the fact,
//     which the results files (streamed, cut back on resume) do not allow.
//   - the index sorted once into a hash-ordered file next to it, then one
//     page read per row: this one.
//
// The sort reads the index batch by batch into chunks of at most
// LookupConfig.ChunkRecords entries (16 bytes each in memory: 16 MiB by
// default), sorts each and appends it to a runs file, then merges the runs
// (32 KiB of buffer each) into the sorted file, folding the entries of one
// hash into one: its (file, line) when every occurrence has the same,
// "ambiguous" otherwise. Memory while sorting is the chunk plus the merge
// buffers, whatever N; the disk it takes is about 16 bytes per distinct
// record, twice while the merge runs.
//
// The sorted file is a 4 KiB header, then the entries in hash order, 256
// to a 4 KiB block, then a trailer with each block's first hash and CRC-32C.
// An open Lookup keeps the trailer in memory (12 bytes per 256 records: 2.3
// MiB at 50M) and ties a row with one ReadAt of its block, checked against
// the block's CRC, and a binary search in it. The OS page cache keeps the
// blocks read often; a row costs one system call and no memory.
//
// The file is kept: a resumed or repeated errors-only read of the same index
// opens it again instead of sorting (the header names the index it was
// made from, so a changed index is sorted again). Since a Lookup has no
// place in the rows, unlike a Resolver, a read that continues after a
// cursor needs no saved state to tie its rows; State only carries the
// counts.
type Lookup struct {
	mu    sync.Mutex
	x     *Index
	path  string
	chunk int
	key   uint64
	files []string

	f      *os.File
	n      int64    // distinct hashes in the file
	fence  []uint64 // each block's first hash
	crc    []uint32 // each block's CRC-32C
	block  []byte
	built  LookupBuild
	canon  canon
	stats  ResolverStats
	err    error
	opened bool
}

// LookupConfig configures NewLookup.
type LookupConfig struct {
	// Path is the sorted file's path: made if missing or made from another
	// index, reused otherwise. Default: the index's path with ".byhash"
	// added.
	Path string
	// ChunkRecords bounds the entries sorted in memory at once (16 bytes
	// each). 0 means DefaultChunkRecords.
	ChunkRecords int
	// State resumes the counts of Stats from Lookup.State. A state that
	// does not fit (from a Resolver, or corrupt) is ignored: the counts
	// then start at zero. The ties do not depend on it.
	State []byte
}

// DefaultChunkRecords is the default LookupConfig.ChunkRecords: 16 MiB.
const DefaultChunkRecords = 1 << 20

// LookupBuild describes the sorted file behind a Lookup.
type LookupBuild struct {
	Records  int64         // index entries read
	Distinct int64         // distinct hashes in the file
	Runs     int           // sorted runs merged (0: the file was reused)
	Bytes    int64         // size of the sorted file
	Reused   bool          // an existing file was opened, not sorted again
	Took     time.Duration // to sort, or to open
}

// The sorted file.
const (
	lookupMagic   = "BLBYHSH\x01"
	lookupHead    = 4096
	lookupEntry   = 16 // hash u64, file u32, line u32
	blockEntries  = 256
	blockBytes    = blockEntries * lookupEntry
	fenceSize     = 12 // first hash u64, CRC u32
	ambiguousFile = math.MaxUint32
)

// NewLookup returns a Lookup over a sealed index (ErrNotSealed otherwise).
// The sorted file is opened, or made, at the first row that needs it, so
// a read with no error rows costs nothing. The index must stay open while
// the Lookup is used. A Lookup is safe for concurrent use.
func NewLookup(x *Index, cfg LookupConfig) (*Lookup, error) {
	x.mu.Lock()
	sealed := x.sealed
	l := &Lookup{x: x, path: cfg.Path, chunk: cfg.ChunkRecords, files: slices.Clone(x.files), key: x.lookupKey()}
	if l.path == "" {
		l.path = x.path + ".byhash"
	}
	x.mu.Unlock()
	if !sealed {
		return nil, ErrNotSealed
	}
	if l.chunk <= 0 {
		l.chunk = DefaultChunkRecords
	}
	l.restore(cfg.State)
	return l, nil
}

// lookupKey names the index's content for the sorted file's header: its
// batches, their records and its files. Call with x.mu held.
func (x *Index) lookupKey() uint64 {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x.digest())
	h.Write(b[:])
	for _, bi := range x.batches {
		binary.LittleEndian.PutUint64(b[:], bi.digest)
		h.Write(b[:])
		binary.LittleEndian.PutUint64(b[:], uint64(bi.key.file)<<32|uint64(bi.n))
		h.Write(b[:])
	}
	for _, f := range x.files {
		binary.LittleEndian.PutUint64(b[:], uint64(len(f)))
		h.Write(b[:])
		h.Write([]byte(f))
	}
	return binary.LittleEndian.Uint64(h.Sum(nil))
}

// Resolve ties one result row to its input line by content, as the package
// doc's errors-only tie says: rows may come in any order, each alone. A row
// that cannot be tied with certainty gets the zero Tie. Ties of a Lookup
// name Line and File only; Exact is never set.
func (l *Lookup) Resolve(res api.Result) Tie {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Results++
	t := l.resolve(res.Record)
	if t.Line > 0 {
		l.stats.Lines++
	} else {
		l.stats.Empty++
	}
	return t
}

// Line is Resolve for poller.FilesConfig.Line: the line and the file.
func (l *Lookup) Line(res api.Result) (line int, file string) {
	t := l.Resolve(res)
	return t.Line, t.File
}

func (l *Lookup) resolve(record []byte) Tie {
	h, err := l.canon.hash(record)
	if err != nil {
		l.stats.Unmatched++
		return Tie{}
	}
	if !l.opened {
		l.opened = true
		if err := l.open(context.Background()); err != nil {
			l.err = err
		}
	}
	if l.err != nil {
		l.stats.Unmatched++
		return Tie{}
	}
	file, line, found, err := l.find(h)
	switch {
	case err != nil:
		l.err = err
		l.stats.Unmatched++
		return Tie{}
	case !found:
		l.stats.Unmatched++
		return Tie{}
	case file == ambiguousFile || int(file) >= len(l.files):
		l.stats.Ambiguous++
		return Tie{}
	}
	return Tie{Line: int(line), File: l.files[file]}
}

// find returns the entry of hash h.
func (l *Lookup) find(h uint64) (file, line uint32, found bool, err error) {
	b := sort.Search(len(l.fence), func(i int) bool { return l.fence[i] > h }) - 1
	if b < 0 {
		return 0, 0, false, nil
	}
	n := min(int64(blockEntries), l.n-int64(b)*blockEntries)
	p := l.block[:n*lookupEntry]
	if _, err := l.f.ReadAt(p, lookupHead+int64(b)*blockBytes); err != nil {
		return 0, 0, false, fmt.Errorf("join: reading %s: %w", l.path, err)
	}
	if crc32.Checksum(p, castagnoli) != l.crc[b] {
		return 0, 0, false, fmt.Errorf("join: %s: block %d fails its CRC", l.path, b)
	}
	i := sort.Search(int(n), func(i int) bool { return binary.LittleEndian.Uint64(p[i*lookupEntry:]) >= h })
	if i == int(n) || binary.LittleEndian.Uint64(p[i*lookupEntry:]) != h {
		return 0, 0, false, nil
	}
	e := p[i*lookupEntry:]
	return binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint32(e[12:]), true, nil
}

// Err returns the error, if any, that stopped the Lookup: a sorted file
// that could not be made or read. Rows resolved after it have no line.
func (l *Lookup) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Stats returns the counts so far (GaveUp is never set).
func (l *Lookup) Stats() ResolverStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Build describes the sorted file once the first row has opened or made
// it (the zero LookupBuild before).
func (l *Lookup) Build() LookupBuild {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.built
}

// Prepare opens or makes the sorted file now rather than at the first row.
// Making it reads the whole index (about 20 s at 50M records); ctx stops
// that, and the Lookup then ties no row (Err says why). A row's Resolve
// makes it with no way to stop: call Prepare first where a read can be
// cancelled.
func (l *Lookup) Prepare(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.opened {
		l.opened = true
		l.err = l.open(ctx)
	}
	return l.err
}

// Close closes the sorted file; it stays on disk for the next read.
func (l *Lookup) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("join: closing %s: %w", l.path, err)
	}
	return nil
}

// lookupStateVersion is the first byte of a Lookup's State, unlike a
// Resolver's.
const lookupStateVersion = 0x4c

// State returns the counts of Stats, to save with the poller's cursor and
// pass back as LookupConfig.State, so that the counts of a read that
// continues cover the whole read.
func (l *Lookup) State() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := []byte{lookupStateVersion}
	for _, v := range []int64{l.stats.Results, l.stats.Lines, l.stats.Empty, l.stats.Ambiguous, l.stats.Unmatched} {
		p = binary.AppendUvarint(p, uint64(v))
	}
	return p
}

func (l *Lookup) restore(p []byte) {
	if len(p) < 1 || p[0] != lookupStateVersion {
		return
	}
	p = p[1:]
	var s ResolverStats
	for _, v := range []*int64{&s.Results, &s.Lines, &s.Empty, &s.Ambiguous, &s.Unmatched} {
		u, n := binary.Uvarint(p)
		if n <= 0 || u > math.MaxInt64 {
			return
		}
		*v, p = int64(u), p[n:]
	}
	if len(p) == 0 && s.Lines+s.Empty == s.Results {
		l.stats = s
	}
}

// open opens the sorted file if it was made from this index, or makes it.
func (l *Lookup) open(ctx context.Context) error {
	start := time.Now()
	if err := l.load(); err == nil {
		l.built.Reused, l.built.Took = true, time.Since(start)
		return nil
	}
	if err := l.make(ctx); err != nil {
		return err
	}
	if err := l.load(); err != nil {
		return err
	}
	l.built.Took = time.Since(start)
	return nil
}

// load opens the sorted file at l.path and reads its trailer, or fails if
// it is missing, torn, or made from another index.
func (l *Lookup) load() error {
	f, err := os.Open(l.path)
	if err != nil {
		return err
	}
	fail := func(what string) error {
		f.Close()
		return fmt.Errorf("join: %s: %s", l.path, what)
	}
	info, err := f.Stat()
	if err != nil {
		return fail(err.Error())
	}
	var hd [40]byte
	if _, err := f.ReadAt(hd[:], 0); err != nil || string(hd[:8]) != lookupMagic {
		return fail("not a sorted index")
	}
	key := binary.LittleEndian.Uint64(hd[8:])
	n := int64(binary.LittleEndian.Uint64(hd[16:]))
	records := int64(binary.LittleEndian.Uint64(hd[24:]))
	blocks := (n + blockEntries - 1) / blockEntries
	if key != l.key || n < 0 || n > info.Size()/lookupEntry {
		return fail("made from another index")
	}
	trailer := lookupHead + n*lookupEntry
	if info.Size() != trailer+blocks*fenceSize+4 {
		return fail("torn")
	}
	tr := make([]byte, blocks*fenceSize+4)
	if _, err := f.ReadAt(tr, trailer); err != nil {
		return fail(err.Error())
	}
	sum := crc32.Update(crc32.Checksum(hd[:32], castagnoli), castagnoli, tr[:len(tr)-4])
	if sum != binary.LittleEndian.Uint32(tr[len(tr)-4:]) {
		return fail("its trailer fails its CRC")
	}
	l.fence, l.crc = make([]uint64, blocks), make([]uint32, blocks)
	for i := range blocks {
		l.fence[i] = binary.LittleEndian.Uint64(tr[i*fenceSize:])
		l.crc[i] = binary.LittleEndian.Uint32(tr[i*fenceSize+8:])
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.n, l.block = f, n, make([]byte, blockBytes)
	l.built.Records, l.built.Distinct, l.built.Bytes = records, n, info.Size()
	return nil
}

// lentry is an index entry with its file, as sorted.
type lentry struct {
	hash       uint64
	file, line uint32
}

// make sorts the index into a new sorted file at l.path: runs of at most
// l.chunk entries into a temporary file, merged into another, renamed.
func (l *Lookup) make(ctx context.Context) error {
	dir, base := filepath.Dir(l.path), filepath.Base(l.path)
	runs, err := os.CreateTemp(dir, base+".runs-*")
	if err != nil {
		return fmt.Errorf("join: sorting the index: %w", err)
	}
	defer func() {
		runs.Close()
		os.Remove(runs.Name())
	}()
	l.x.mu.Lock()
	batches := slices.Clone(l.x.batches)
	l.x.mu.Unlock()

	// Runs: each chunk sorted by hash, appended to the runs file.
	w := bufio.NewWriterSize(runs, 256<<10)
	var spans []runSpan
	var off, records int64
	var total int64
	for _, b := range batches {
		total += int64(b.n)
	}
	buf := make([]lentry, 0, min(int64(l.chunk), total))
	var es []entry
	var raw []byte
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		slices.SortFunc(buf, func(a, b lentry) int { return cmp.Compare(a.hash, b.hash) })
		var e [lookupEntry]byte
		for _, x := range buf {
			putLentry(e[:], x)
			if _, err := w.Write(e[:]); err != nil {
				return err
			}
		}
		spans = append(spans, runSpan{off, int64(len(buf))})
		off += int64(len(buf)) * lookupEntry
		buf = buf[:0]
		return nil
	}
	for b := range batches {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("join: sorting the index: %w", err)
		}
		if es, raw, err = l.x.entriesVia(int32(b), es, raw); err != nil {
			return err
		}
		file := uint32(batches[b].key.file)
		for _, e := range es {
			if len(buf) == l.chunk {
				if err := flush(); err != nil {
					return fmt.Errorf("join: sorting the index: %w", err)
				}
			}
			buf = append(buf, lentry{e.hash, file, e.line})
			records++
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("join: sorting the index: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("join: sorting the index: %w", err)
	}
	buf = nil // the chunk is not needed while merging

	out, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("join: sorting the index: %w", err)
	}
	done := false
	defer func() {
		if !done {
			out.Close()
			os.Remove(out.Name())
		}
	}()
	n, trailer, err := mergeRuns(ctx, runs, spans, out)
	if err != nil {
		return fmt.Errorf("join: sorting the index into %s: %w", l.path, err)
	}
	var hd [lookupHead]byte
	copy(hd[:], lookupMagic)
	binary.LittleEndian.PutUint64(hd[8:], l.key)
	binary.LittleEndian.PutUint64(hd[16:], uint64(n))
	binary.LittleEndian.PutUint64(hd[24:], uint64(records))
	sum := crc32.Update(crc32.Checksum(hd[:32], castagnoli), castagnoli, trailer)
	trailer = binary.LittleEndian.AppendUint32(trailer, sum)
	if _, err := out.WriteAt(trailer, lookupHead+n*lookupEntry); err != nil {
		return fmt.Errorf("join: writing %s: %w", l.path, err)
	}
	if _, err := out.WriteAt(hd[:], 0); err != nil {
		return fmt.Errorf("join: writing %s: %w", l.path, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("join: writing %s: %w", l.path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("join: writing %s: %w", l.path, err)
	}
	if err := os.Rename(out.Name(), l.path); err != nil {
		os.Remove(out.Name())
		return fmt.Errorf("join: writing %s: %w", l.path, err)
	}
	done = true
	l.built.Runs = len(spans)
	return nil
}

type runSpan struct{ off, n int64 }

func putLentry(p []byte, e lentry) {
	binary.LittleEndian.PutUint64(p, e.hash)
	binary.LittleEndian.PutUint32(p[8:], e.file)
	binary.LittleEndian.PutUint32(p[12:], e.line)
}

// mergeRuns merges the sorted runs of the runs file into out, after its
// header, one entry per hash, and returns how many it wrote and the
// trailer (each block's first hash and CRC-32C).
func mergeRuns(ctx context.Context, runs *os.File, spans []runSpan, out *os.File) (int64, []byte, error) {
	h := make(runHeap, 0, len(spans))
	for _, s := range spans {
		c := &runCursor{r: bufio.NewReaderSize(io.NewSectionReader(runs, s.off, s.n*lookupEntry), 32<<10), left: s.n}
		if err := c.next(); err != nil {
			return 0, nil, err
		}
		h = append(h, c)
	}
	heap.Init(&h)
	if _, err := out.Seek(lookupHead, io.SeekStart); err != nil {
		return 0, nil, err
	}
	w := bufio.NewWriterSize(out, 256<<10)
	var n int64
	var trailer []byte
	block := make([]byte, 0, blockBytes)
	emit := func(e lentry) error {
		var p [lookupEntry]byte
		putLentry(p[:], e)
		block = append(block, p[:]...)
		n++
		if len(block) == blockBytes {
			return endBlock(w, &block, &trailer)
		}
		return nil
	}
	var cur lentry
	have := false
	for i := 0; len(h) > 0; i++ {
		if i&0xffff == 0 && ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		c := h[0]
		e := c.e
		if c.left == 0 {
			heap.Pop(&h)
		} else {
			if err := c.next(); err != nil {
				return 0, nil, err
			}
			heap.Fix(&h, 0)
		}
		switch {
		case !have:
			cur, have = e, true
		case e.hash != cur.hash:
			if err := emit(cur); err != nil {
				return 0, nil, err
			}
			cur = e
		case e.file != cur.file || e.line != cur.line:
			// The same content on two lines, or in two files.
			cur.file, cur.line = ambiguousFile, 0
		}
	}
	if have {
		if err := emit(cur); err != nil {
			return 0, nil, err
		}
	}
	if len(block) > 0 {
		if err := endBlock(w, &block, &trailer); err != nil {
			return 0, nil, err
		}
	}
	return n, trailer, w.Flush()
}

func endBlock(w *bufio.Writer, block, trailer *[]byte) error {
	b := *block
	*trailer = binary.LittleEndian.AppendUint64(*trailer, binary.LittleEndian.Uint64(b))
	*trailer = binary.LittleEndian.AppendUint32(*trailer, crc32.Checksum(b, castagnoli))
	_, err := w.Write(b)
	*block = b[:0]
	return err
}

// runCursor reads one sorted run; e is its current entry, left the
// entries after it.
type runCursor struct {
	r    *bufio.Reader
	e    lentry
	left int64
	p    [lookupEntry]byte
}

func (c *runCursor) next() error {
	if _, err := io.ReadFull(c.r, c.p[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	c.e = lentry{binary.LittleEndian.Uint64(c.p[:]), binary.LittleEndian.Uint32(c.p[8:]), binary.LittleEndian.Uint32(c.p[12:])}
	c.left--
	return nil
}

type runHeap []*runCursor

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return h[i].e.hash < h[j].e.hash }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runCursor)) }
func (h *runHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
