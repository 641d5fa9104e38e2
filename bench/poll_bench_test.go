package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/internal/sample"
	"github.com/bulkload/bulkload/poller"
)

// The poll benchmarks run a whole job on the emulator, polled as it
// executes, and report what the poll cost in calls against the issue's
// goals, and how late it ended:
//
//	go test -run '^$' -bench 'Poll' -benchtime 1x ./bench/
//
// Metrics, per job:
//
//	calls/record      listing calls per record (full mode) or per error row (errors only)
//	x-min             listing calls / ⌈rows/100⌉, the least possible
//	x-goal            listing calls / the goal: 1.05 × ⌈records/100⌉ + 5 in full mode,
//	                  ⌈errors/100⌉ + 5 errors-only; at most 1 passes
//	jobpolls          job polls (GET /v2/bulk_jobs/{id})
//	x-jobpoll-bound   job polls / (1 + ⌈T/MinInterval⌉), the documented bound
//	lag-ms            from the job's finished_at to Run returning
//
// Time is scaled down: the emulator executes pollRecords records at
// pollRate records/s (about 2 s a job), or a quarter of them at a tenth of
// the rate (the -slow scenarios), and the poller's intervals are
// 50 ms..500 ms instead of 2 s..30 s, which keeps the rows per MinInterval
// (500, or 50) within what real jobs show. BaselinePoll runs, in the same process,
// the obvious poller: every MinInterval, read pages from the cursor until one
// is cut short or not full.

const pollRate = 10000 // records per second

var pollIntervals = poller.Config{MinInterval: 50 * time.Millisecond, MaxInterval: 500 * time.Millisecond}

func pollRecords() int {
	if testing.Short() {
		return 2_000
	}
	return 20_000
}

// pollJob starts an emulator, uploads n sample people and marks the job
// ready; the job starts executing when this returns.
func pollJob(b *testing.B, cfg apitest.Config, n int) (*apitest.Server, *api.Client, int64) {
	b.Helper()
	srv := apitest.NewServer(cfg)
	b.Cleanup(srv.Close)
	c, err := api.NewClient(api.Config{APIKey: "ak_bench", BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	job, _, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		b.Fatal(err)
	}
	var recs bytes.Buffer
	if err := sample.WriteJSONL(&recs, n, sample.Options{Seed: 3}); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(recs.Bytes()), []byte("\n"))
	for from := 0; from < len(lines); from += api.MaxRecordsPerUpload {
		body := append([]byte(`{"data":[`), bytes.Join(lines[from:min(len(lines), from+api.MaxRecordsPerUpload)], []byte(","))...)
		body = append(body, "]}"...)
		if _, _, err := c.CreateJobData(ctx, job.ID, body); err != nil {
			b.Fatal(err)
		}
	}
	ready := true
	if _, _, err := c.UpdateJob(ctx, job.ID, api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		b.Fatal(err)
	}
	return srv, c, job.ID
}

type pollResult struct {
	rows, pageCalls, jobPolls int64
	elapsed, lag              time.Duration
}

// pollScenario is a kind of job execution.
type pollScenario struct {
	name       string
	outOfOrder bool
	rate       float64 // records per second
	records    int
}

func pollScenarios() []pollScenario {
	n := pollRecords()
	return []pollScenario{
		{"in-order", false, pollRate, n},
		{"out-of-order", true, pollRate, n},
		// 50 records per MinInterval: a page every two intervals.
		{"in-order-slow", false, pollRate / 10, n / 4},
		{"out-of-order-slow", true, pollRate / 10, n / 4},
	}
}

func BenchmarkPoll(b *testing.B) {
	for _, sc := range pollScenarios() {
		for _, mode := range []string{"full", "errors-only"} {
			b.Run(sc.name+"/"+mode, func(b *testing.B) {
				benchPoll(b, sc, func(c *api.Client, jobID int64) (pollResult, error) {
					cfg := pollIntervals
					cfg.ErrorsOnly = mode == "errors-only"
					p, err := poller.New(c, cfg)
					if err != nil {
						return pollResult{}, err
					}
					st, err := p.Run(context.Background(), jobID, func(api.Result) error { return nil })
					return pollResult{rows: st.Delivered, pageCalls: st.PageCalls, jobPolls: st.JobCalls}, err
				}, mode == "errors-only")
			})
		}
	}
}

func BenchmarkBaselinePoll(b *testing.B) {
	for _, sc := range pollScenarios() {
		b.Run(sc.name+"/full", func(b *testing.B) {
			benchPoll(b, sc, naivePoll, false)
		})
	}
}

func benchPoll(b *testing.B, sc pollScenario, poll func(*api.Client, int64) (pollResult, error), errorsOnly bool) {
	n := sc.records
	var sum pollResult
	for range b.N {
		b.StopTimer()
		srv, c, jobID := pollJob(b, apitest.Config{ProcessRate: sc.rate, OutOfOrder: sc.outOfOrder, ErrorRate: 0.05, RateLimit: apitest.NoLimit}, n)
		start := time.Now()
		b.StartTimer()
		r, err := poll(c, jobID)
		end := time.Now()
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		job, _ := srv.Job("ak_bench", jobID)
		want := int64(n)
		if errorsOnly {
			want = job.Errors
		}
		if r.rows != want {
			b.Fatalf("handed over %d rows; want %d", r.rows, want)
		}
		r.elapsed, r.lag = end.Sub(start), end.Sub(job.FinishedAt)
		sum.rows += r.rows
		sum.pageCalls += r.pageCalls
		sum.jobPolls += r.jobPolls
		sum.elapsed += r.elapsed
		sum.lag += r.lag
		srv.Close()
	}
	perJob := func(v int64) float64 { return float64(v) / float64(b.N) }
	rows := perJob(sum.rows)
	least := math.Ceil(rows / 100)
	goal := 1.05*least + 5
	if errorsOnly {
		goal = least + 5
	}
	bound := 1 + math.Ceil(float64(sum.elapsed)/float64(b.N)/float64(pollIntervals.MinInterval))
	b.ReportMetric(perJob(sum.pageCalls)/rows, "calls/record")
	b.ReportMetric(perJob(sum.pageCalls)/max(least, 1), "x-min")
	b.ReportMetric(perJob(sum.pageCalls)/goal, "x-goal")
	b.ReportMetric(perJob(sum.jobPolls), "jobpolls")
	b.ReportMetric(perJob(sum.jobPolls)/bound, "x-jobpoll-bound")
	b.ReportMetric(float64(sum.lag.Milliseconds())/float64(b.N), "lag-ms")
	b.ReportMetric(rows, "rows")
}

// naivePoll is the baseline: every MinInterval, read pages from the cursor
// until one is cut short by a row that is not final, or is not full; stop
// when the job is done and a page comes back short.
func naivePoll(c *api.Client, jobID int64) (pollResult, error) {
	var r pollResult
	ctx := context.Background()
	retry := budget.RetryPolicy{}
	cursor := int64(0)
	for {
		var job api.Job
		err := retry.Do(ctx, func(ctx context.Context, _ int) error {
			r.jobPolls++
			var err error
			job, _, err = c.GetJob(ctx, jobID)
			return err
		})
		if err != nil {
			return r, err
		}
		for {
			var rows []api.Result
			err := retry.Do(ctx, func(ctx context.Context, _ int) error {
				r.pageCalls++
				var err error
				rows, _, err = c.ListJobData(ctx, jobID, api.ListOptions{After: cursor, PerPage: 100})
				return err
			})
			if err != nil {
				return r, err
			}
			blocked := false
			for _, row := range rows {
				if !row.Status.Final() {
					blocked = true
					break
				}
				cursor = row.ID
				r.rows++
			}
			if blocked || len(rows) < 100 {
				if !blocked && job.State == api.StateDone {
					return r, nil
				}
				break
			}
		}
		time.Sleep(pollIntervals.MinInterval)
	}
}

// BenchmarkFilesWrite measures the results writer: bytes per second of
// rows written, and allocations per row.
func BenchmarkFilesWrite(b *testing.B) {
	rows := make([]api.Result, 1000)
	msg := "Missing required field: email address"
	for i := range rows {
		rows[i] = api.Result{ID: int64(i + 1), Status: api.StatusSuccess,
			Record:   []byte(fmt.Sprintf(`{"email_address":"p%d@example.com","first_name":"Person","last_name":"Number %d","upsert_key":"email_address"}`, i, i)),
			Resource: []byte(fmt.Sprintf(`{"person":{"id":%d,"email_address":"p%d@example.com"},"upsert_type":"create"}`, 9000+i, i))}
		if i%10 == 0 {
			rows[i].Status, rows[i].Error, rows[i].Resource = api.StatusError, &msg, nil
		}
	}
	var size int64
	for _, r := range rows {
		size += int64(len(r.Record) + len(r.Resource))
	}
	for _, format := range []poller.Format{poller.JSONLines, poller.CSV} {
		b.Run(format.String(), func(b *testing.B) {
			dir := b.TempDir()
			f, err := poller.CreateFiles(poller.FilesConfig{Format: format,
				Success: filepath.Join(dir, "ok"), Errors: filepath.Join(dir, "err")})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range rows {
					if err := f.Write(r); err != nil {
						b.Fatal(err)
					}
				}
				if err := f.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
