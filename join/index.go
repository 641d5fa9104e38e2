package join

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sync"
)

// The index file: an 8-byte header, then frames appended one per call,
// each [length u32][CRC-32C of the payload u32][payload], little-endian.
// A payload starts with its kind:
//
//	kindFile   id u32, name             a file name, before its first batch
//	kindBatch  file u32, seq i64, n u32, then n entries of hash u64, line u32
//	kindSeal   batches u32, digest u64  every batch is in (see Seal)
//
// A frame is written with one write call and never rewritten, so a crash
// can only leave its last frame torn; OpenIndex cuts a tail that is short or
// fails its CRC.
const (
	header    = "BLJOIN\x00\x01"
	kindFile  = 1
	kindBatch = 2
	kindSeal  = 3

	batchHead = 1 + 4 + 8 + 4 // payload bytes before a batch's entries
	entrySize = 12
	maxFrame  = 1 << 28
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrBatchChanged is returned by Index.Add for a batch (file and seq) that
// the index holds with other records: the input changed since it was
// indexed, so the results of the earlier upload cannot be tied to it.
var ErrBatchChanged = errors.New("join: the batch differs from the one indexed under its seq")

// ErrNotSealed is returned by NewResolver for an index that is not sealed:
// a batch may be missing (a run stopped while indexing), and a missing
// batch could make another record look like the only candidate.
var ErrNotSealed = errors.New("join: the index is not sealed; index every batch of the input again, then Seal")

// entry is one record of the index: its content hash and its start line.
type entry struct {
	hash uint64
	line uint32
}

// batchKey names a batch: its input file and its seq in that input.
type batchKey struct {
	file int32
	seq  int64
}

// batchInfo is what the index keeps in memory per batch: 48 bytes, against
// 12 bytes per record on disk.
type batchInfo struct {
	key    batchKey
	n      int32
	off    int64  // file offset of entry 0
	digest uint64 // of its entries, to spot a changed input
	head   entry  // entry 0, so that a new resolver reads nothing to start
}

// Index is the on-disk record of which content each uploaded record has and
// on which input line it starts, batch by batch: 12 bytes per record in the
// file, about 48 bytes per batch in memory. See the package doc.
//
// Open it with OpenIndex, call Add for every batch the upload's source
// yields, before the batch goes out or after (a resumed upload adds them
// all again; Add skips those already in), and Seal once the upload has
// stored every batch. An Index is safe for concurrent use.
type Index struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	size    int64 // end of the last whole frame
	files   []string
	fileIDs map[string]int32
	batches []batchInfo
	byKey   map[batchKey]int32
	sealed  bool
	cut     int64 // bytes cut from a torn tail by OpenIndex
	err     error // sticky write error
	buf     []byte
}

// OpenIndex opens the index file at path, creating it (mode 0600) if it
// does not exist. An existing file is read whole: a torn or corrupt tail,
// as a crash leaves it, is cut off (Cut reports how many bytes), and the
// batches before it are kept. A file that is not an index is an error.
func OpenIndex(path string) (*Index, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("join: opening index: %w", err)
	}
	x := &Index{path: path, f: f, fileIDs: map[string]int32{}, byKey: map[batchKey]int32{}}
	if err := x.load(); err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

// load reads the file, cuts a torn tail and writes the header if missing.
func (x *Index) load() error {
	info, err := x.f.Stat()
	if err != nil {
		return fmt.Errorf("join: index %s: %w", x.path, err)
	}
	r := bufio.NewReaderSize(x.f, 256<<10)
	end, err := x.scan(r)
	if err != nil {
		return fmt.Errorf("join: index %s: %w", x.path, err)
	}
	if end < int64(len(header)) { // new, or torn while being created
		if err := x.f.Truncate(0); err != nil {
			return fmt.Errorf("join: index %s: %w", x.path, err)
		}
		if _, err := x.f.WriteAt([]byte(header), 0); err != nil {
			return fmt.Errorf("join: index %s: %w", x.path, err)
		}
		end = int64(len(header))
	} else if end < info.Size() {
		x.cut = info.Size() - end
		if err := x.f.Truncate(end); err != nil {
			return fmt.Errorf("join: index %s: cutting its torn tail: %w", x.path, err)
		}
	}
	x.size = end
	if _, err := x.f.Seek(end, io.SeekStart); err != nil {
		return fmt.Errorf("join: index %s: %w", x.path, err)
	}
	return nil
}

// scan reads frames from r and returns the offset just past the last whole
// one. A short or corrupt frame ends the scan; only a wrong header or a
// frame that contradicts an earlier one is an error.
func (x *Index) scan(r io.Reader) (int64, error) {
	var hdr [len(header)]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n > 0 && string(hdr[:n]) != header[:n] {
			return 0, errors.New("not an index file")
		}
		return 0, nil
	}
	if string(hdr[:]) != header {
		return 0, errors.New("not an index file")
	}
	off := int64(len(header))
	var fh [8]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(r, fh[:]); err != nil {
			return off, nil
		}
		n := binary.LittleEndian.Uint32(fh[:4])
		if n == 0 || n > maxFrame {
			return off, nil
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			return off, nil
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(fh[4:]) {
			return off, nil
		}
		ok, err := x.apply(payload, off+8)
		if err != nil {
			return 0, err
		}
		if !ok {
			return off, nil
		}
		off += 8 + int64(n)
	}
}

// apply adds the frame payload at file offset off to the in-memory state.
// It reports false for a malformed payload (the tail is then cut there).
func (x *Index) apply(p []byte, off int64) (bool, error) {
	x.sealed = false
	switch p[0] {
	case kindFile:
		if len(p) < 5 || binary.LittleEndian.Uint32(p[1:]) != uint32(len(x.files)) {
			return false, nil
		}
		name := string(p[5:])
		x.fileIDs[name] = int32(len(x.files))
		x.files = append(x.files, name)
	case kindBatch:
		if len(p) < batchHead {
			return false, nil
		}
		file := binary.LittleEndian.Uint32(p[1:])
		seq := int64(binary.LittleEndian.Uint64(p[5:]))
		n := binary.LittleEndian.Uint32(p[13:])
		if file >= uint32(len(x.files)) || n == 0 || uint64(len(p)) != batchHead+uint64(n)*entrySize {
			return false, nil
		}
		b := batchInfo{key: batchKey{int32(file), seq}, n: int32(n), off: off + batchHead,
			digest: sum64(p[batchHead:]), head: readEntry(p[batchHead:])}
		if i, dup := x.byKey[b.key]; dup {
			if x.batches[i].digest != b.digest || x.batches[i].n != b.n {
				return false, fmt.Errorf("batch %d of %q is indexed twice with different records", seq, x.files[file])
			}
			return true, nil
		}
		x.byKey[b.key] = int32(len(x.batches))
		x.batches = append(x.batches, b)
	case kindSeal:
		if len(p) != 13 {
			return false, nil
		}
		count := binary.LittleEndian.Uint32(p[1:])
		x.sealed = int(count) == len(x.batches) && binary.LittleEndian.Uint64(p[5:]) == x.digest()
	default:
		return false, nil
	}
	return true, nil
}

func readEntry(p []byte) entry {
	return entry{hash: binary.LittleEndian.Uint64(p), line: binary.LittleEndian.Uint32(p[8:])}
}

// digest folds the batches' digests, in any order.
func (x *Index) digest() uint64 {
	var d uint64
	for _, b := range x.batches {
		d += b.digest*0x9E3779B97F4A7C15 + uint64(b.key.seq)
	}
	return d
}

// Add indexes one batch: seq is its number in its input (chunker.Batch.Seq),
// file names the input ("" when there is one), body is the job_data body
// that is uploaded, {"data":[record,...]}, and lines holds the 1-based line
// on which each record starts (chunker.Batch.Lines), or is nil when lines
// are not known (ties then name no line). A batch already in the index is
// checked, not written again: ErrBatchChanged if its records differ.
// Add writes one frame and does not sync it; see Seal.
func (x *Index) Add(seq int, file string, body []byte, lines []int) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err != nil {
		return x.err
	}
	p := append(x.buf[:0], make([]byte, batchHead)...)
	n := 0
	err := records(body, func(i int, rec []byte) error {
		var line uint32
		if lines != nil {
			if i >= len(lines) {
				return fmt.Errorf("join: batch %d has more records than its %d lines", seq, len(lines))
			}
			if lines[i] < 0 || lines[i] > math.MaxUint32 {
				return fmt.Errorf("join: batch %d: line %d is out of range", seq, lines[i])
			}
			line = uint32(lines[i])
		}
		p = binary.LittleEndian.AppendUint64(p, sum64(rec))
		p = binary.LittleEndian.AppendUint32(p, line)
		n++
		return nil
	})
	x.buf = p
	switch {
	case err != nil:
		return fmt.Errorf("join: batch %d: %w", seq, err)
	case n == 0:
		return fmt.Errorf("join: batch %d has no records", seq)
	case lines != nil && len(lines) != n:
		return fmt.Errorf("join: batch %d has %d records but %d lines", seq, n, len(lines))
	}
	id, known := x.fileIDs[file]
	if known {
		if i, dup := x.byKey[batchKey{id, int64(seq)}]; dup {
			b := x.batches[i]
			if b.n != int32(n) || b.digest != sum64(p[batchHead:]) {
				return fmt.Errorf("%w (batch %d of %q)", ErrBatchChanged, seq, file)
			}
			return nil
		}
	} else {
		id = int32(len(x.files))
		fp := binary.LittleEndian.AppendUint32([]byte{kindFile}, uint32(id))
		if err := x.write(append(fp, file...)); err != nil {
			return err
		}
	}
	p[0] = kindBatch
	binary.LittleEndian.PutUint32(p[1:], uint32(id))
	binary.LittleEndian.PutUint64(p[5:], uint64(seq))
	binary.LittleEndian.PutUint32(p[13:], uint32(n))
	return x.write(p)
}

// write appends one frame holding p and applies it.
func (x *Index) write(p []byte) error {
	if len(p) > maxFrame {
		return fmt.Errorf("join: a frame of %d bytes is too large", len(p))
	}
	frame := make([]byte, 8, 8+len(p))
	binary.LittleEndian.PutUint32(frame, uint32(len(p)))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(p, castagnoli))
	frame = append(frame, p...)
	if _, err := x.f.WriteAt(frame, x.size); err != nil {
		x.err = fmt.Errorf("join: writing index %s: %w", x.path, err)
		return x.err
	}
	if _, err := x.apply(p, x.size+8); err != nil {
		return err
	}
	x.size += int64(len(frame))
	return nil
}

// Seal records that every batch of the input is in the index, then syncs
// the file to stable storage. Call it once the upload has stored every
// batch, each of them passed to Add (in this process or an earlier one).
// NewResolver accepts only a sealed index. Adding a new batch afterwards
// unseals it.
func (x *Index) Seal() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err != nil {
		return x.err
	}
	if !x.sealed {
		p := []byte{kindSeal}
		p = binary.LittleEndian.AppendUint32(p, uint32(len(x.batches)))
		p = binary.LittleEndian.AppendUint64(p, x.digest())
		if err := x.write(p); err != nil {
			return err
		}
	}
	if err := x.f.Sync(); err != nil {
		x.err = fmt.Errorf("join: syncing index %s: %w", x.path, err)
		return x.err
	}
	return nil
}

// IndexStats describes an index.
type IndexStats struct {
	Files, Batches int
	Records        int64
	Bytes          int64 // size of the file
	Cut            int64 // bytes of a torn tail cut by OpenIndex
	Sealed         bool
}

// Stats returns the index's counts.
func (x *Index) Stats() IndexStats {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := IndexStats{Files: len(x.files), Batches: len(x.batches), Bytes: x.size, Cut: x.cut, Sealed: x.sealed}
	for _, b := range x.batches {
		s.Records += int64(b.n)
	}
	return s
}

// Close closes the file. It does not sync: Seal does.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.f.Close(); err != nil {
		return fmt.Errorf("join: closing index %s: %w", x.path, err)
	}
	return nil
}

// entries reads batch b's entries into dst.
func (x *Index) entries(b int32, dst []entry) ([]entry, error) {
	dst, _, err := x.entriesVia(b, dst, nil)
	return dst, err
}

// entriesVia is entries reading through raw, grown as needed and
// returned for the next call.
func (x *Index) entriesVia(b int32, dst []entry, raw []byte) ([]entry, []byte, error) {
	x.mu.Lock()
	bi := x.batches[b]
	x.mu.Unlock()
	if n := int(bi.n) * entrySize; cap(raw) < n {
		raw = make([]byte, n)
	} else {
		raw = raw[:n]
	}
	if _, err := x.f.ReadAt(raw, bi.off); err != nil {
		return nil, raw, fmt.Errorf("join: reading index %s: %w", x.path, err)
	}
	dst = dst[:0]
	for i := 0; i < len(raw); i += entrySize {
		dst = append(dst, readEntry(raw[i:]))
	}
	return dst, raw, nil
}

// Hash returns the 64-bit content hash the index keeps for a record: the
// first 8 bytes of the SHA-256 of its canonical JSON (members sorted by
// key, no whitespace, escapes and numbers normalized), so that a record
// re-serialized by the server hashes as uploaded.
// It is safe for concurrent use.
func Hash(record []byte) (uint64, error) {
	c := canons.Get().(*canon)
	defer canons.Put(c)
	return c.hash(record)
}

var canons = sync.Pool{New: func() any { return new(canon) }}
