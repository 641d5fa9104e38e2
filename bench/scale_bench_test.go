package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
)

// BenchmarkRunScale is the cost model and the memory check: the whole
// command (check, create, upload, ready, poll, results files) over 10k,
// 100k and 1M records, in full and errors-only mode, against an emulator
// with no budget and no execution delay, so that nothing but the command's
// own call pattern decides the count:
//
//	go test -run '^$' -bench 'RunScale' -benchtime 1x ./bench/
//	BULKLOAD_BENCH_FULL=1 go test -run '^$' -bench 'RunScale' -benchtime 1x -timeout 60m ./bench/  # adds 10M
//
// -short runs 10k and 100k only. 5% of records fail (emulator ErrorRate),
// which is what errors-only mode reads back. Metrics, per run:
//
//	calls          API calls the emulator answered (all endpoints)
//	calls/record   calls ÷ records
//	min@600        calls ÷ 600: minutes of a 600/min budget, all of it
//	uploads        job_data POSTs; pages: listing calls; jobpolls: GET job
//	RSS-MiB        peak resident set of the bulkload process (getrusage)
//	heap-MiB       peak Go heap of that process (largest gctrace heap)
//	x-RSS-100k     RSS-MiB ÷ that of the 100k run in the same mode and process
//	records/s      records ÷ wall time (loopback, CPUs shared with the emulator)
//	calls/failed   (errors-only) calls ÷ failed records; pages/failed: listing calls only
//
// The job polls are the one time-dependent part: here the job is done at
// once, so they are the fewest possible. A real run at 600/min polls the
// job about twice a minute more (see poller's package doc, and jobpolls in
// BenchmarkRunBudget).
func BenchmarkRunScale(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if !testing.Short() {
		sizes = append(sizes, 1_000_000)
	}
	if benchFull() {
		sizes = append(sizes, 10_000_000)
	}
	rss100k := map[bool]float64{}
	for _, n := range sizes {
		for _, errorsOnly := range []bool{false, true} {
			b.Run(fmt.Sprintf("records=%s/%s", count(n), modeName(errorsOnly)), func(b *testing.B) {
				var out runOutcome
				var wall time.Duration
				for range b.N {
					out = runCommand(b, runSpec{
						records:    n,
						errorsOnly: errorsOnly,
						emulator:   apitest.Config{RateLimit: apitest.NoLimit, ProcessRate: apitest.NoLimit, ErrorRate: 0.05, Seed: 1},
						limit:      1_000_000,
						window:     time.Second,
					})
					wall += out.wall
				}
				rss := float64(out.rssKiB) / 1024
				b.ReportMetric(float64(out.calls), "calls")
				b.ReportMetric(float64(out.calls)/float64(n), "calls/record")
				b.ReportMetric(float64(out.calls)/600, "min@600")
				b.ReportMetric(float64(out.uploads), "uploads")
				b.ReportMetric(float64(out.pages), "pages")
				b.ReportMetric(float64(out.jobPolls), "jobpolls")
				b.ReportMetric(rss, "RSS-MiB")
				b.ReportMetric(out.heapMiB, "heap-MiB")
				b.ReportMetric(float64(b.N*n)/wall.Seconds(), "records/s")
				if errorsOnly && out.sum.Failed > 0 {
					b.ReportMetric(float64(out.calls)/float64(out.sum.Failed), "calls/failed")
					b.ReportMetric(float64(out.pages)/float64(out.sum.Failed), "pages/failed")
				}
				if n == 100_000 {
					rss100k[errorsOnly] = rss
				} else if base := rss100k[errorsOnly]; base > 0 && rss > 0 {
					b.ReportMetric(rss/base, "x-RSS-100k")
				}
			})
		}
	}
}

func modeName(errorsOnly bool) string {
	if errorsOnly {
		return "errors-only"
	}
	return "full"
}

// count names a record count: 10k, 1M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}
