package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/internal/sample"
	"github.com/bulkload/bulkload/join"
)

// The join benchmarks measure what tying results to input lines costs: the
// index written at upload time and the resolver at results time, for
// joinRecords sample people in batches of 5,000 (1M;
// BULKLOAD_BENCH_JOIN_RECORDS=N sets another count):
//
//	go test -run '^$' -bench 'Join' -benchtime 1x ./bench/
//
// Metrics:
//
//	ns/record        JoinIndex: Index.Add per record (canonical JSON, SHA-256, 12 bytes appended)
//	ns/row           JoinResolve: Resolver.Resolve per result row
//	cpu-ns/...       the same in process CPU time (GC included), steadier than wall
//	                 time on a shared machine
//	index-B/record   the index file's size per record
//	heap-MiB         the resolver's live heap after resolving every row (GC'd, index open)
//	map-heap-MiB     baseline, same run: a map from content hash to line for every record,
//	                 the obvious in-memory design
//
// JoinResolve stores the batches as the emulator does (whole, 4 workers, so
// batches come in shuffled within a window of 4); JoinResolveInterleaved
// interleaves the records of 4 batches at random, as the real API may.

const joinBatch = 5000

func joinRecords() int {
	if n, err := strconv.Atoi(os.Getenv("BULKLOAD_BENCH_JOIN_RECORDS")); err == nil && n >= joinBatch {
		return n / joinBatch * joinBatch
	}
	if testing.Short() {
		return 20_000
	}
	return 1_000_000
}

// joinBatchBody returns batch k's body and its records: sample people from
// a generator seeded with k, so any batch can be made again on demand.
func joinBatchBody(k, n int) ([]byte, [][]byte) {
	g := sample.NewGenerator(uint64(k) + 1)
	var body bytes.Buffer
	body.WriteString(`{"data":[`)
	recs := make([][]byte, n)
	for i := range n {
		rec, _ := json.Marshal(g.Next())
		recs[i] = rec
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(rec)
	}
	body.WriteString(`]}`)
	return body.Bytes(), recs
}

// joinIndex builds the index of joinRecords records and returns it sealed,
// and the CPU time the Add calls took when timed.
func joinIndex(b *testing.B, timed bool) (*join.Index, int, time.Duration) {
	b.Helper()
	return joinIndexAt(b, timed, filepath.Join(b.TempDir(), "join.idx"))
}

// joinIndexAt is joinIndex with the index file at path.
func joinIndexAt(b *testing.B, timed bool, path string) (*join.Index, int, time.Duration) {
	b.Helper()
	x, err := join.OpenIndex(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { x.Close() })
	batches := joinRecords() / joinBatch
	lines := make([]int, joinBatch)
	var cpu time.Duration
	for k := range batches {
		body, _ := joinBatchBody(k, joinBatch)
		for i := range lines {
			lines[i] = k*joinBatch + i + 2
		}
		if timed {
			b.StartTimer()
			cpu -= processCPU()
		}
		if err := x.Add(k, "", body, lines); err != nil {
			b.Fatal(err)
		}
		if timed {
			cpu += processCPU()
			b.StopTimer()
		}
	}
	if err := x.Seal(); err != nil {
		b.Fatal(err)
	}
	return x, batches, cpu
}

func BenchmarkJoinIndex(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		x, _, cpu := joinIndex(b, true)
		st := x.Stats()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(st.Records)/float64(b.N), "ns/record")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(st.Records), "cpu-ns/record")
		b.ReportMetric(float64(st.Bytes)/float64(st.Records), "index-B/record")
		b.StartTimer()
	}
}

func BenchmarkJoinResolve(b *testing.B) { benchResolve(b, false) }

func BenchmarkJoinResolveInterleaved(b *testing.B) { benchResolve(b, true) }

func benchResolve(b *testing.B, interleave bool) {
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		x, batches, _ := joinIndex(b, false)
		var cpu time.Duration
		rng := rand.New(rand.NewPCG(1, 2))
		// The store order: batch k is stored among k-3..k+3, as 4 workers
		// leave them.
		order := make([]int, batches)
		for i := range order {
			order[i] = i
		}
		for i := 0; i+4 <= len(order); i += 4 {
			rng.Shuffle(4, func(a, c int) { order[i+a], order[i+c] = order[i+c], order[i+a] })
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := join.NewResolver(x, join.ResolverConfig{})
		if err != nil {
			b.Fatal(err)
		}
		rows, id := 0, int64(0)
		resolve := func(rec []byte) {
			id++
			r.Resolve(api.Result{ID: id, Status: api.StatusSuccess, Record: rec})
			rows++
		}
		for g := 0; g < len(order); g += 4 {
			group := order[g:min(g+4, len(order))]
			recs := make([][][]byte, len(group))
			for j, k := range group {
				_, recs[j] = joinBatchBody(k, joinBatch)
			}
			b.StartTimer()
			cpu -= processCPU()
			if !interleave {
				for _, rs := range recs {
					for _, rec := range rs {
						resolve(rec)
					}
				}
			} else {
				next := make([]int, len(recs))
				left := len(recs) * joinBatch
				for left > 0 {
					j := rng.IntN(len(recs))
					if next[j] == joinBatch {
						continue
					}
					resolve(recs[j][next[j]])
					next[j]++
					left--
				}
			}
			cpu += processCPU()
			b.StopTimer()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := r.Stats()
		if st.Empty != 0 || st.Results != int64(rows) {
			b.Fatalf("Stats() = %+v; want %d rows, all tied", st, rows)
		}
		runtime.KeepAlive(r)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows)/float64(b.N), "ns/row")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows), "cpu-ns/row")
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MiB")

		// Baseline: every record's hash and line in a map.
		b.ReportMetric(mapBaselineMiB(batches), "map-heap-MiB")
	}
}

// BenchmarkJoinHash is the content hash alone (canonical JSON, then
// SHA-256) of a sample person, the part of both costs that grows with the
// record. Baselines in the same run: SHA-256 of the bytes as they are (what
// a byte comparison would cost) and json.Compact (the cheapest pass of
// encoding/json over the record).
func BenchmarkJoinHash(b *testing.B) {
	_, recs := joinBatchBody(0, 100)
	var n int64
	for _, r := range recs {
		n += int64(len(r))
	}
	run := func(name string, fn func([]byte) error) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(n / int64(len(recs)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := fn(recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	run("canonical", func(r []byte) error { _, err := join.Hash(r); return err })
	run("baseline-sha256", func(r []byte) error { sha256.Sum256(r); return nil })
	var buf bytes.Buffer
	run("baseline-compact", func(r []byte) error { buf.Reset(); return json.Compact(&buf, r) })
}

// joinErrorShare is the share of rows an errors-only read gets in
// BenchmarkJoinLookup: 5%, as RunBudget and RunScale fail.
const joinErrorShare = 0.05

// BenchmarkJoinLookup measures the errors-only tie (join.Lookup): the sort
// of the index into its hash-ordered file, once, then the rows of 5% of
// the records, in id order (their hashes in no order), each looked up
// alone. Metrics:
//
//	sort-s, sort-cpu-s     making the sorted file: wall and process CPU time
//	sort-peak-heap-MiB     the largest live heap seen while sorting (sampled every ms)
//	                       above the heap before it
//	sort-alloc-MiB         bytes allocated while sorting
//	sorted-B/record        the sorted file's size per index record
//	open-ms                opening the sorted file again (a resumed read)
//	ns/row, cpu-ns/row     Lookup.Resolve per error row (hash, one 4 KiB ReadAt, CRC, search)
//	heap-MiB               the open Lookup's live heap (its blocks' first hashes and CRCs)
//	ambiguous-rows         rows left empty: records that repeat (none at 1M)
//	scan-ms/page           baseline, same run: one pass over the index file, what a
//	                       scan per results page (100 error rows) would cost
//	x-scan                 scan-ms/page / 100 rows against ns/row
//	map-heap-MiB           baseline: a map from each record's hash to its line
//	slice-heap-MiB         baseline: every (hash, line) in one sorted slice
func BenchmarkJoinLookup(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "join.idx")
		x, batches, _ := joinIndexAt(b, false, path)
		rng := rand.New(rand.NewPCG(3, 4))
		var rows [][]byte
		for k := range batches {
			_, recs := joinBatchBody(k, joinBatch)
			for _, rec := range recs {
				if rng.Float64() < joinErrorShare {
					rows = append(rows, rec)
				}
			}
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		l, err := join.NewLookup(x, join.LookupConfig{})
		if err != nil {
			b.Fatal(err)
		}
		// The sort, with the heap sampled while it runs.
		stop, peak := make(chan struct{}), make(chan uint64)
		go func() {
			var m runtime.MemStats
			var top uint64
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&m)
				top = max(top, m.HeapAlloc)
				select {
				case <-stop:
					peak <- top
					return
				case <-t.C:
				}
			}
		}()
		cpu, start := processCPU(), time.Now()
		if err := l.Prepare(context.Background()); err != nil {
			b.Fatal(err)
		}
		sortWall, sortCPU := time.Since(start), processCPU()-cpu
		close(stop)
		maxHeap := <-peak
		runtime.ReadMemStats(&after)
		build := l.Build()
		b.ReportMetric(sortWall.Seconds(), "sort-s")
		b.ReportMetric(sortCPU.Seconds(), "sort-cpu-s")
		b.ReportMetric(float64(int64(maxHeap)-int64(before.HeapAlloc))/(1<<20), "sort-peak-heap-MiB")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "sort-alloc-MiB")
		b.ReportMetric(float64(build.Bytes)/float64(build.Records), "sorted-B/record")
		l.Close()

		// A resumed read opens the file again: that Lookup ties the rows.
		runtime.GC()
		runtime.ReadMemStats(&before)
		start = time.Now()
		l, err = join.NewLookup(x, join.LookupConfig{})
		if err == nil {
			err = l.Prepare(context.Background())
		}
		if err != nil || !l.Build().Reused {
			b.Fatalf("reopening: %v, %+v", err, l.Build())
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "open-ms")
		b.StartTimer()
		cpu, start = processCPU(), time.Now()
		for i, rec := range rows {
			l.Resolve(api.Result{ID: int64(i + 1), Status: api.StatusError, Record: rec})
		}
		wall := time.Since(start)
		cpu = processCPU() - cpu
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		// The sample people are distinct at 1M; past that a few repeat
		// (the same person generated twice), and their rows are rightly
		// left empty. No row may be unmatched.
		st := l.Stats()
		if st.Results != int64(len(rows)) || st.Unmatched != 0 || st.Lines+st.Ambiguous != st.Results {
			b.Fatalf("Stats() = %+v; want %d rows, tied or ambiguous", st, len(rows))
		}
		b.ReportMetric(float64(st.Ambiguous), "ambiguous-rows")
		runtime.KeepAlive(l)
		runtime.KeepAlive(rows) // live in both measures: only the Lookup differs
		perRow := float64(wall.Nanoseconds()) / float64(len(rows))
		b.ReportMetric(perRow, "ns/row")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(len(rows)), "cpu-ns/row")
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MiB")
		l.Close()

		// Baseline: one pass over the index file, reading every entry (the
		// least a scan per page costs; matching the page's rows is extra).
		xs := x.Stats()
		start = time.Now()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, bufio.NewReaderSize(f, 256<<10))
		f.Close()
		scan := time.Since(start)
		if n < xs.Records*12 {
			b.Fatalf("scanned %d bytes; want %d records' worth", n, xs.Records)
		}
		b.ReportMetric(float64(scan.Microseconds())/1000, "scan-ms/page")
		b.ReportMetric(float64(scan.Nanoseconds())/100/perRow, "x-scan")

		// Baselines: every record's hash and line in memory.
		b.ReportMetric(mapBaselineMiB(batches), "map-heap-MiB")
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := make([]struct {
			hash uint64
			line uint32
		}, xs.Records)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(s)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "slice-heap-MiB")
	}
}

// mapBaselineMiB is the heap a map from every record's hash to its line
// takes, for batches of joinBatch records: what the join's structures are
// measured against.
func mapBaselineMiB(batches int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := make(map[uint64]int32)
	for k := range batches {
		for i := range joinBatch {
			m[uint64(k)<<32|uint64(i)] = int32(i)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(m)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
}
