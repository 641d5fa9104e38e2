package bench

import (
	"math"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
)

// BenchmarkRunBudget runs the whole command under a tight team budget and
// reports how close it comes to the least time and the fewest calls the
// budget allows:
//
//	go test -run '^$' -bench 'RunBudget' -benchtime 1x ./bench/
//
// The budget is the default one, 600 calls per 1-minute window, and the
// command gets all of it (--budget 1). The emulator executes 2,000
// records/s, twice what 10 pages/s read back, so in full mode the budget,
// not the execution, is the limit; 5% of records fail. -short runs 5k
// records at 100 calls per 1 s window and 20,000 records/s: a smoke test,
// since the poller's fixed 2 s floor between sleeps then weighs far more.
// Metrics, per run:
//
//	wall-s        the command's wall time, start to exit
//	ideal-s       the least time the budget and the executor allow:
//	              max(calls-min, 2 + uploads + tail) ÷ rate + records ÷ process rate in the
//	              second term, because execution starts only once the upload is done and
//	              the tail (the last page; errors-only: 1 job poll and every error page)
//	              can only be read once it ends
//	x-ideal       wall-s ÷ ideal-s
//	calls-min     create + ⌈records/5000⌉ uploads + ready + 1 job poll + ⌈rows/100⌉ pages,
//	              rows being every record (full) or the failed ones (errors-only)
//	x-calls-min   calls ÷ calls-min
//	calls/record  calls ÷ records
//	429-%         share of calls answered 429
//	budget-used-% calls ÷ (rate × wall-s)
//	jobpolls      GET job calls
//	calls/failed, pages/failed  (errors-only) all calls, and listing calls, per failed record
func BenchmarkRunBudget(b *testing.B) {
	records, limit, window, processRate := 100_000, 600, time.Minute, 2000.0
	if testing.Short() {
		records, limit, window, processRate = 5_000, 100, time.Second, 20_000
	}
	rate := float64(limit) / window.Seconds() // calls per second
	for _, errorsOnly := range []bool{false, true} {
		b.Run(modeName(errorsOnly), func(b *testing.B) {
			var out runOutcome
			var wall time.Duration
			for range b.N {
				out = runCommand(b, runSpec{
					records:    records,
					errorsOnly: errorsOnly,
					emulator: apitest.Config{RateLimit: limit, RateWindow: window, ProcessRate: processRate,
						ErrorRate: 0.05, Seed: 1},
					limit:  limit,
					window: window,
				})
				wall += out.wall
			}
			perRun := wall.Seconds() / float64(b.N)
			uploads := math.Ceil(float64(records) / api.MaxRecordsPerUpload)
			rows := float64(records)
			if errorsOnly {
				rows = float64(out.sum.Failed)
			}
			pages := math.Ceil(rows / api.MaxPerPage)
			least := 3 + uploads + pages
			tail := 1.0
			if errorsOnly {
				tail = 1 + pages
			}
			ideal := max(least/rate, (2+uploads+tail)/rate+float64(records)/processRate)
			calls := float64(out.calls)
			b.ReportMetric(perRun, "wall-s")
			b.ReportMetric(ideal, "ideal-s")
			b.ReportMetric(perRun/ideal, "x-ideal")
			b.ReportMetric(least, "calls-min")
			b.ReportMetric(calls/least, "x-calls-min")
			b.ReportMetric(calls/float64(records), "calls/record")
			b.ReportMetric(100*float64(out.limited)/calls, "429-%")
			b.ReportMetric(100*calls/(rate*out.wall.Seconds()), "budget-used-%")
			b.ReportMetric(float64(out.jobPolls), "jobpolls")
			if errorsOnly && out.sum.Failed > 0 {
				b.ReportMetric(calls/float64(out.sum.Failed), "calls/failed")
				b.ReportMetric(float64(out.pages)/float64(out.sum.Failed), "pages/failed")
			}
		})
	}
}
