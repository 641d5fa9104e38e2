package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/internal/sample"
)

// The chunker benchmarks read realistic person records (~280 bytes each as
// JSON, see internal/sample) from memory. Baselines run first, in the same
// process, and the chunker benchmarks report their speed relative to them
// ("x-naive", "x-scanlines"), so the ratio holds on a noisy machine. Each
// also reports "cpu-MB/s": bytes per second of process CPU time (GC
// included), which time slices lost to other processes do not lower.
//
//	go test -run '^$' -bench 'ScanLines|Naive|Chunk' -benchmem ./bench/

// peopleCount is how many records each benchmark input holds.
func peopleCount() int {
	if testing.Short() {
		return 2_000
	}
	return 100_000
}

var (
	inputsOnce sync.Once
	jsonlInput []byte
	csvInput   []byte
	arrayInput []byte // the JSONL records as one pretty-ish JSON array
	gzipInput  []byte // the JSONL input, gzip-compressed
)

func inputs(b *testing.B) (jsonl, csv []byte) {
	b.Helper()
	inputsOnce.Do(func() {
		var jb, cb bytes.Buffer
		if err := sample.WriteJSONL(&jb, peopleCount(), sample.Options{Seed: 1}); err != nil {
			panic(err)
		}
		if err := sample.WriteCSV(&cb, peopleCount(), sample.Options{Seed: 1}); err != nil {
			panic(err)
		}
		jsonlInput, csvInput = jb.Bytes(), cb.Bytes()
		lines := bytes.Split(bytes.TrimSuffix(jsonlInput, []byte("\n")), []byte("\n"))
		arrayInput = append(append([]byte("[\n"), bytes.Join(lines, []byte(",\n"))...), "\n]\n"...)
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(jsonlInput)
		zw.Close()
		gzipInput = zb.Bytes()
	})
	return jsonlInput, csvInput
}

// baseline holds the MB/s of the last baseline run, by name.
var baseline = map[string]float64{}

func mbps(b *testing.B, n int) float64 {
	return float64(n) * float64(b.N) / b.Elapsed().Seconds() / 1e6
}

// cpuMeter reports cpu-MB/s for a benchmark that processes n bytes per
// iteration: start it before the loop, call the result after it.
func cpuMeter(b *testing.B, n int) func() {
	start := processCPU()
	return func() {
		if d := processCPU() - start; d > 0 && start > 0 {
			b.ReportMetric(float64(n)*float64(b.N)/d.Seconds()/1e6, "cpu-MB/s")
		}
	}
}

// BenchmarkScanLines splits the JSONL input into lines and does nothing
// else: the floor of any line-based reader.
func BenchmarkScanLines(b *testing.B) {
	data, _ := inputs(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	defer cpuMeter(b, len(data))()
	for b.Loop() {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		n := 0
		for sc.Scan() {
			n += len(sc.Bytes())
		}
		if n == 0 {
			b.Fatal("no lines")
		}
	}
	baseline["scanlines"] = mbps(b, len(data))
}

// BenchmarkNaiveJSONL does the obvious thing: decode each line into a
// map[string]any and marshal 5,000 of them at a time into a body.
func BenchmarkNaiveJSONL(b *testing.B) {
	data, _ := inputs(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	defer cpuMeter(b, len(data))()
	for b.Loop() {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		batch := make([]map[string]any, 0, chunker.MaxRecordsLimit)
		flush := func() {
			if _, err := json.Marshal(map[string]any{"data": batch}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				b.Fatal(err)
			}
			if batch = append(batch, m); len(batch) == chunker.MaxRecordsLimit {
				flush()
			}
		}
		if len(batch) > 0 {
			flush()
		}
	}
	baseline["naive"] = mbps(b, len(data))
}

// BenchmarkChunkJSONL runs the chunker over the JSONL input: validation,
// bodies and batch bookkeeping, without hashing (see
// BenchmarkChunkJSONLHashed).
func BenchmarkChunkJSONL(b *testing.B) {
	data, _ := inputs(b)
	benchChunk(b, data, chunker.FormatJSONL, false)
}

// BenchmarkChunkJSONLHashed also computes every batch's Hash, as a resumed
// run that checks stored batches would.
func BenchmarkChunkJSONLHashed(b *testing.B) {
	data, _ := inputs(b)
	benchChunk(b, data, chunker.FormatJSONL, true)
}

// BenchmarkChunkJSONArray runs the chunker over the same records as one JSON
// array, one element per line.
func BenchmarkChunkJSONArray(b *testing.B) {
	inputs(b)
	benchChunk(b, arrayInput, chunker.FormatJSONArray, false)
}

// BenchmarkChunkJSONLGzip runs the chunker over the gzip-compressed JSONL
// input; MB/s counts compressed bytes, so decompression (compress/gzip)
// dominates.
func BenchmarkChunkJSONLGzip(b *testing.B) {
	inputs(b)
	benchChunk(b, gzipInput, chunker.FormatAuto, false)
}

// BenchmarkChunkCSV runs the chunker over the same people as CSV, which it
// encodes as JSON.
func BenchmarkChunkCSV(b *testing.B) {
	_, data := inputs(b)
	benchChunk(b, data, chunker.FormatCSV, false)
}

func benchChunk(b *testing.B, data []byte, format chunker.Format, hash bool) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	defer cpuMeter(b, len(data))()
	records := 0
	for b.Loop() {
		c, err := chunker.New(bytes.NewReader(data), chunker.Config{Format: format})
		if err != nil {
			b.Fatal(err)
		}
		records = 0
		for {
			batch, err := c.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if hash {
				batch.Hash()
			}
			records += batch.Records
		}
	}
	runtime.ReadMemStats(&ms1)
	if records != peopleCount() {
		b.Fatalf("read %d records; want %d", records, peopleCount())
	}
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N*records), "allocs/record")
	speed := mbps(b, len(data))
	if format == chunker.FormatCSV {
		baseline["csv"] = speed // for the dialect benchmarks' x-csv
	}
	if v, ok := baseline["naive"]; ok && format == chunker.FormatJSONL {
		b.ReportMetric(speed/v, "x-naive")
	}
	if v, ok := baseline["scanlines"]; ok {
		b.ReportMetric(speed/v, "x-scanlines")
	}
}
