package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
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
// realistic person records (internal/sample, ~280 bytes) as JSON Lines in
// memory → chunker → uploader (workers, manifest bookkeeping in memory) →
// api.Client → net/http → the in-process emulator, which scans and stores
// every record. Client and emulator share the machine's CPUs.
//
//	go test -run '^$' -bench 'Upload' -benchtime 1x ./bench/
//
// BenchmarkUpload first measures a naive uploader in the same run, one
// record per POST, sequentially, the way a script calling the API per
// person would, and reports each configuration's speed relative to it
// ("x-naive") next to records/s and MB/s. BenchmarkUploadBudget measures
// how much of a tight team budget the uploader uses, and its share of 429s,
// alone and while another client of the team spends part of the budget.

const benchKey = "ak_bench"

func uploadCount() int {
	if testing.Short() {
		return 20_000
	}
	return 300_000
}

var (
	uploadOnce  sync.Once
	uploadInput []byte
)

func uploadJSONL(b *testing.B) []byte {
	b.Helper()
	uploadOnce.Do(func() {
		var buf bytes.Buffer
		if err := sample.WriteJSONL(&buf, uploadCount(), sample.Options{Seed: 3}); err != nil {
			panic(err)
		}
		uploadInput = buf.Bytes()
	})
	return uploadInput
}

// benchServer starts an emulator with cfg, a client of it paced by bud
// (nil: no budget) and an open job.
func benchServer(b *testing.B, cfg apitest.Config, bud *budget.Budget) (*apitest.Server, *api.Client, int64) {
	b.Helper()
	cfg.ProcessRate = apitest.NoLimit
	srv := apitest.NewServer(cfg)
	tr := api.DefaultTransport()
	b.Cleanup(func() { tr.CloseIdleConnections(); srv.Close() })
	acfg := api.Config{APIKey: benchKey, BaseURL: srv.URL, HTTPClient: &http.Client{Timeout: time.Minute, Transport: tr}}
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
	return srv, c, job.ID
}

// source adapts a chunker to uploader.Source.
type source struct{ c *chunker.Chunker }

func (s source) Next() (uploader.Batch, error) {
	bt, err := s.c.Next()
	return uploader.Batch(bt), err
}

// naiveRate uploads the first n records one per POST, sequentially, and
// returns records per second.
func naiveRate(b *testing.B, input []byte, n int) float64 {
	b.Helper()
	_, c, job := benchServer(b, apitest.Config{RateLimit: apitest.NoLimit}, nil)
	sc := bufio.NewScanner(bytes.NewReader(input))
	start := time.Now()
	for i := 0; i < n && sc.Scan(); i++ {
		body := append(append([]byte(`{"data":[`), sc.Bytes()...), "]}"...)
		if _, _, err := c.CreateJobData(context.Background(), job, body); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

func BenchmarkUpload(b *testing.B) {
	input := uploadJSONL(b)
	naive := naiveRate(b, input, max(uploadCount()/100, 200))
	b.Logf("naive, one record per POST: %.0f records/s", naive)
	for _, cfg := range []struct {
		workers, records int
	}{{1, 5000}, {4, 5000}, {8, 5000}, {16, 5000}, {4, 1000}} {
		b.Run(fmt.Sprintf("workers=%d/batch=%d", cfg.workers, cfg.records), func(b *testing.B) {
			b.SetBytes(int64(len(input)))
			b.ReportAllocs()
			var elapsed time.Duration
			var st uploader.Stats
			for range b.N {
				srv, c, job := benchServer(b, apitest.Config{RateLimit: apitest.NoLimit}, budget.Unlimited())
				ch, err := chunker.New(bytes.NewReader(input), chunker.Config{Format: chunker.FormatJSONL, MaxRecords: cfg.records})
				if err != nil {
					b.Fatal(err)
				}
				u, err := uploader.New(uploader.Config{Client: c, Workers: cfg.workers})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				st, err = u.Upload(context.Background(), job, source{ch})
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if got := srv.Stats().RecordsStored; got != int64(uploadCount()) {
					b.Fatalf("emulator stored %d records; want %d", got, uploadCount())
				}
				ch.Close()
				srv.Close()
			}
			rate := float64(b.N*uploadCount()) / elapsed.Seconds()
			b.ReportMetric(rate, "records/s")
			b.ReportMetric(float64(b.N*len(input))/elapsed.Seconds()/1e6, "MB/s")
			b.ReportMetric(rate/naive, "x-naive")
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
				srv, c, job := benchServer(b, apitest.Config{RateLimit: limit, RateWindow: window}, bud)
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
				u, err := uploader.New(uploader.Config{Client: c, Workers: 4})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				st, err := u.Upload(ctx, job, source{ch})
				elapsed := time.Since(start)
				stop()
				other.Wait()
				ch.Close()
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
