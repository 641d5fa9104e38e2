package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/internal/sample"
	"github.com/bulkload/bulkload/uploader"
)

// The upload benchmarks run the whole upload path end to end on loopback:
// realistic person records (internal/sample, ~280 bytes) as a JSON Lines
// file (read from the page cache) → chunker → uploader (workers, manifest
// bookkeeping in memory) → api.Client → net/http → the in-process emulator,
// which scans and stores every record. Client and emulator share the
// machine's CPUs.
//
//	go test -run '^$' -bench 'Upload' -benchtime 1x ./bench/
//
// BenchmarkUpload measures, right before each configuration, a naive
// uploader for at least 1 s ("naive-records/s"): one record per POST,
// sequentially, the way a script calling the API per person would. It
// reports each configuration's speed relative to it ("x-naive") next to
// records/s and MB/s, and the peak heap of each
// configuration's iterations ("peak-heap-MiB": the emulator holds every
// record it stored, so about twice the input at GC's default goal). BenchmarkUploadBudget measures
// how much of a tight team budget the uploader uses, and its share of 429s,
// alone and while another client of the team spends part of the budget.

const benchKey = "ak_bench"

func uploadCount() int {
	if testing.Short() {
		return 20_000
	}
	return 300_000
}

// uploadFile returns the upload benchmarks' input, a JSON Lines file (see
// inputFile), and its size. It is read from the file, not held in memory,
// so that the heap measured is the upload's and the emulator's.
func uploadFile(b *testing.B) (path string, size int64) {
	b.Helper()
	path = inputFile(b, uploadCount())
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, fi.Size()
}

// benchEnv is an emulator, a client of it and an open job.
type benchEnv struct {
	srv    *apitest.Server
	client *api.Client
	job    int64
	tr     *http.Transport
}

// benchServer starts an emulator with cfg, a client of it paced by bud
// (nil: no budget) and an open job. An iteration's environment must be
// released with close: the emulator holds every record it stored, and one
// kept alive per iteration grows the heap with b.N (the cleanup registered
// here holds only the benchEnv, which close empties).
func benchServer(b *testing.B, cfg apitest.Config, bud *budget.Budget) *benchEnv {
	b.Helper()
	cfg.ProcessRate = apitest.NoLimit
	e := &benchEnv{srv: apitest.NewServer(cfg), tr: api.DefaultTransport()}
	b.Cleanup(e.close)
	acfg := api.Config{APIKey: benchKey, BaseURL: e.srv.URL, HTTPClient: &http.Client{Timeout: time.Minute, Transport: e.tr}}
	if bud != nil {
		acfg.Budget = bud
	}
	c, err := api.NewClient(acfg)
	if err != nil {
		b.Fatal(err)
	}
	job, _, err := c.CreateJob(context.Background(), api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		b.Fatal(err)
	}
	e.client, e.job = c, job.ID
	return e
}

// close stops the emulator and drops every reference to it and its records.
func (e *benchEnv) close() {
	if e.srv == nil {
		return
	}
	e.tr.CloseIdleConnections()
	e.srv.Close()
	*e = benchEnv{}
}

// heapPeak samples the heap every few milliseconds until stop is called,
// which returns the largest samples in bytes: heap, the heap's objects
// live or not yet swept (runtime.MemStats.HeapAlloc), which GC lets grow to
// about twice the live heap at its default goal; live, the heap found live
// by the last GC.
func heapPeak() (stop func() (heap, live uint64)) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	var heap, live uint64
	read := func() {
		metrics.Read(sample)
		heap, live = max(heap, sample[0].Value.Uint64()), max(live, sample[1].Value.Uint64())
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			read()
			select {
			case <-done:
				read()
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-stopped
		return heap, live
	}
}

// source adapts a chunker to uploader.Source.
type source struct{ c *chunker.Chunker }

func (s source) Next() (uploader.Batch, error) {
	bt, err := s.c.Next()
	return uploader.Batch(bt), err
}

// naiveRate uploads records of the input file one per POST, sequentially,
// for at least minDuration (starting over at the end of the input), and
// returns records per second.
func naiveRate(b *testing.B, input string, minDuration time.Duration) float64 {
	b.Helper()
	e := benchServer(b, apitest.Config{RateLimit: apitest.NoLimit}, nil)
	defer e.close()
	f, err := os.Open(input)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	start := time.Now()
	for time.Since(start) < minDuration {
		if !sc.Scan() {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			sc = bufio.NewScanner(f)
			continue
		}
		body := append(append([]byte(`{"data":[`), sc.Bytes()...), "]}"...)
		if _, _, err := e.client.CreateJobData(context.Background(), e.job, body); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

func BenchmarkUpload(b *testing.B) {
	input, size := uploadFile(b)
	naiveTime := time.Second
	if testing.Short() {
		naiveTime = 100 * time.Millisecond
	}
	for _, cfg := range []struct {
		workers, records int
	}{{1, 5000}, {4, 5000}, {8, 5000}, {16, 5000}, {4, 1000}} {
		b.Run(fmt.Sprintf("workers=%d/batch=%d", cfg.workers, cfg.records), func(b *testing.B) {
			// The baseline runs right before each configuration, so that
			// each ratio compares two measurements made under the same
			// load, on a machine whose load changes from minute to minute.
			naive := naiveRate(b, input, naiveTime)
			b.ResetTimer()
			b.SetBytes(size)
			b.ReportAllocs()
			var elapsed time.Duration
			var st uploader.Stats
			runtime.GC() // start from what this benchmark holds, not the previous one's garbage
			peak := heapPeak()
			for range b.N {
				e := benchServer(b, apitest.Config{RateLimit: apitest.NoLimit}, budget.Unlimited())
				f, err := os.Open(input)
				if err != nil {
					b.Fatal(err)
				}
				ch, err := chunker.New(f, chunker.Config{Format: chunker.FormatJSONL, MaxRecords: cfg.records})
				if err != nil {
					b.Fatal(err)
				}
				u, err := uploader.New(uploader.Config{Client: e.client, Workers: cfg.workers})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				st, err = u.Upload(context.Background(), e.job, source{ch})
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if got := e.srv.Stats().RecordsStored; got != int64(uploadCount()) {
					b.Fatalf("emulator stored %d records; want %d", got, uploadCount())
				}
				ch.Close()
				f.Close()
				e.close()
			}
			heap, live := peak()
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(live)/(1<<20), "peak-live-MiB")
			// One iteration's emulator holds the 85 MB of records it
			// stored; a second one kept alive would double that.
			if live > 200e6 {
				b.Errorf("peak live heap %.0f MB over %d iterations; want < 200 MB", float64(live)/1e6, b.N)
			}
			rate := float64(b.N*uploadCount()) / elapsed.Seconds()
			b.ReportMetric(rate, "records/s")
			b.ReportMetric(float64(int64(b.N)*size)/elapsed.Seconds()/1e6, "MB/s")
			b.ReportMetric(rate/naive, "x-naive")
			b.ReportMetric(naive, "naive-records/s")
			b.ReportMetric(float64(st.Calls)/float64(uploadCount()), "calls/record")
		})
	}
}

// BenchmarkUploadBudget uploads under a tight team budget (40 calls per
// 200 ms window, batches of 20 records) and reports the share of the budget
// the uploader used and the share of its calls answered 429. "shared" runs
// another client of the team that spends 40% of every window; the
// uploader's budget then has Share 0.6 and "team-used-%" counts both.
func BenchmarkUploadBudget(b *testing.B) {
	const limit, window = 40, 200 * time.Millisecond
	records := 12_000
	if testing.Short() {
		records = 4_000
	}
	var lines bytes.Buffer
	if err := sample.WriteJSONL(&lines, records, sample.Options{Seed: 5}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		share float64
	}{{"alone", 1}, {"shared", 0.6}} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				bud, err := budget.New(budget.Config{Limit: limit, Window: window, Share: tc.share})
				if err != nil {
					b.Fatal(err)
				}
				e := benchServer(b, apitest.Config{RateLimit: limit, RateWindow: window}, bud)
				srv := e.srv
				ctx, stop := context.WithCancel(context.Background())
				var other sync.WaitGroup
				var spent int64
				if tc.share < 1 {
					// The other client: 40% of the budget, spread evenly.
					other.Go(func() {
						t := time.NewTicker(window / (limit * 4 / 10))
						defer t.Stop()
						for {
							select {
							case <-ctx.Done():
								return
							case <-t.C:
								if t, _ := srv.Team(benchKey); t.Remaining > 0 {
									srv.Spend(benchKey, 1)
									spent++
								}
							}
						}
					})
				}
				ch, err := chunker.New(bytes.NewReader(lines.Bytes()), chunker.Config{Format: chunker.FormatJSONL, MaxRecords: 20})
				if err != nil {
					b.Fatal(err)
				}
				u, err := uploader.New(uploader.Config{Client: e.client, Workers: 4})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				st, err := u.Upload(ctx, e.job, source{ch})
				elapsed := time.Since(start)
				stop()
				other.Wait()
				ch.Close()
				e.close()
				if err != nil {
					b.Fatal(err)
				}
				allowed := float64(limit) * elapsed.Seconds() / window.Seconds()
				b.ReportMetric(100*float64(st.Calls)/(allowed*tc.share), "budget-used-%")
				b.ReportMetric(100*float64(st.Calls+spent)/allowed, "team-used-%")
				b.ReportMetric(100*float64(st.RateLimited)/float64(st.Calls), "429-%")
				b.ReportMetric(float64(st.Calls)/elapsed.Seconds(), "calls/s")
			}
		})
	}
}
