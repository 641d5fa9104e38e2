package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/internal/sample"
	"github.com/bulkload/bulkload/join"
)

// The join benchmarks measure what tying results to input lines costs: the
// index written at upload time and the resolver at results time, for
// joinRecords sample people in batches of 5,000:
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
	x, err := join.OpenIndex(filepath.Join(b.TempDir(), "join.idx"))
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
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "map-heap-MiB")
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
