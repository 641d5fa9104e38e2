package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/internal/sample"
	"github.com/bulkload/bulkload/poller"
)

// BenchmarkResultsLatency reads the results of a done job through the
// poller, paced by the default budget used whole (600 calls a minute,
// Share 1.0), with the emulator adding 0, 100, 300 or 1,000 ms to every
// call (issue 13):
//
//	go test -run '^$' -bench ResultsLatency -benchtime 1x ./bench/
//
// Scenarios: "dense", the job's ids contiguous; "interleaved", a second job
// uploading at the same time, its batches stored between this job's
// (batches of 5,000, or of 1,000 in "interleaved-1k"), so that the ids of
// the job read have gaps; "errors-only", only the error rows (5% of the
// records, at random) through /results?status=error, and
// "errors-only-clustered", 5% at random and three runs of 400 failing
// records (errors-only reads one page at a time; see BENCHMARKS.md for why);
// "dense-one-at-a-time", the baseline in the same run: dense ids read with
// MaxInFlight 1, as before issue 13 (a quarter of the records). Metrics,
// per read:
//
//	budget-use   calls / (10 per second × wall time): the share of the budget the read used; goal ≥ 0.9
//	calls        listing calls and job polls
//	x-min        listing calls / ⌈rows/100⌉
//	x-goal       listing calls / the goal: 1.02 × ⌈rows/100⌉ + 5 dense, 1.15 × that interleaved; at most 1 passes
//	window       pages in flight at the end (the Little's-law window)
//	s            wall time of the read
//
// The budget starts empty (its burst spent), so that the figure is the
// steady pace, not a burst. -short reads 1,000 records instead of 20,000,
// at 0 and 300 ms only (about 10 s in all).
func BenchmarkResultsLatency(b *testing.B) {
	lats := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, time.Second}
	if testing.Short() {
		lats = []time.Duration{0, 300 * time.Millisecond}
	}
	for _, lat := range lats {
		for _, sc := range []resultsScenario{
			{name: "dense"},
			{name: "interleaved", batch: 5000},
			{name: "interleaved-1k", batch: 1000},
			{name: "errors-only", errorsOnly: true},
			{name: "errors-only-clustered", errorsOnly: true, clustered: true},
			{name: "dense-one-at-a-time", oneAtATime: true},
		} {
			b.Run(fmt.Sprintf("latency=%v/%s", lat, sc.name), func(b *testing.B) {
				benchResultsLatency(b, lat, sc)
			})
		}
	}
}

// resultsScenario is a job to read and how.
type resultsScenario struct {
	name       string
	batch      int  // records per upload, a second job's batches between; 0: dense
	errorsOnly bool // read only the error rows
	clustered  bool // the errors come in runs (every record of 3 stretches of 400 fails) besides 5% at random
	oneAtATime bool // the baseline: MaxInFlight 1, a quarter of the records
}

func resultsRecords() int {
	if testing.Short() {
		return 1_000
	}
	return 20_000
}

func benchResultsLatency(b *testing.B, lat time.Duration, sc resultsScenario) {
	batch, errorsOnly := sc.batch, sc.errorsOnly
	n := resultsRecords()
	if sc.oneAtATime {
		n /= 4 // one page per round trip: 50 s at 1 s already
	}
	var calls, pages, rows, window int64
	var wall time.Duration
	for range b.N {
		b.StopTimer()
		srv, jobID := doneJob(b, n, batch, sc.clustered)
		srv.SetFaults(apitest.Faults{Latency: lat})
		bud, err := budget.New(budget.Config{Share: 1.0})
		if err != nil {
			b.Fatal(err)
		}
		c, err := api.NewClient(api.Config{APIKey: "ak_bench", BaseURL: srv.URL, Budget: bud,
			HTTPClient: &http.Client{Transport: api.DefaultTransport()}})
		if err != nil {
			b.Fatal(err)
		}
		for range 6 { // spend the burst: measure the pace, not the bucket
			if err := bud.Wait(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		cfg := poller.Config{ErrorsOnly: errorsOnly}
		if sc.oneAtATime {
			cfg.MaxInFlight = 1
		}
		p, err := poller.New(c, cfg)
		if err != nil {
			b.Fatal(err)
		}
		reads := func() int64 {
			r := srv.Stats().Requests
			return r[apitest.EndpointGetJob] + r[apitest.EndpointListJobData] + r[apitest.EndpointListResults]
		}
		before := reads()
		last := int64(0)
		b.StartTimer()
		start := time.Now()
		st, err := p.Run(context.Background(), jobID, func(r api.Result) error {
			if r.ID <= last {
				return fmt.Errorf("row %d after row %d", r.ID, last)
			}
			last = r.ID
			return nil
		})
		wall += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		job, _ := srv.Job("ak_bench", jobID)
		want := job.Total
		if errorsOnly {
			want = job.Errors
		}
		if st.Delivered != want {
			b.Fatalf("handed over %d rows; want %d", st.Delivered, want)
		}
		if got := reads() - before; got != st.JobCalls+st.PageCalls {
			b.Fatalf("the emulator saw %d reads; the poller says %d", got, st.JobCalls+st.PageCalls)
		}
		calls += st.JobCalls + st.PageCalls
		pages += st.PageCalls
		rows += st.Delivered
		window += int64(st.Window)
		srv.Close()
	}
	per := func(v int64) float64 { return float64(v) / float64(b.N) }
	least := math.Ceil(per(rows) / 100)
	goal := 1.02*least + 5
	if batch > 0 {
		goal *= 1.15
	}
	secs := wall.Seconds() / float64(b.N)
	b.ReportMetric(per(calls)/(10*secs), "budget-use")
	b.ReportMetric(per(calls), "calls")
	b.ReportMetric(per(pages)/max(least, 1), "x-min")
	b.ReportMetric(per(pages)/goal, "x-goal")
	b.ReportMetric(per(window), "window")
	b.ReportMetric(secs, "s")
}

// doneJob starts an emulator without budget or latency, uploads n sample
// people (5% of which fail, and with clustered three runs of 400) to a
// job, marks it ready and waits until it is done. With batch > 0 a second job uploads at the same time: batches of
// batch records go to the two jobs in turn, so the first job's ids have
// gaps of batch ids every batch records.
func doneJob(b *testing.B, n, batch int, clustered bool) (*apitest.Server, int64) {
	b.Helper()
	srv := apitest.NewServer(apitest.Config{RateLimit: apitest.NoLimit, ProcessRate: apitest.NoLimit, ErrorRate: 0.05, Seed: 5})
	b.Cleanup(srv.Close)
	c, err := api.NewClient(api.Config{APIKey: "ak_bench", BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var jobs [2]int64
	for i := range jobs {
		job, _, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert"})
		if err != nil {
			b.Fatal(err)
		}
		jobs[i] = job.ID
	}
	var recs bytes.Buffer
	if err := sample.WriteJSONL(&recs, n, sample.Options{Seed: 3}); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(recs.Bytes()), []byte("\n"))
	if clustered {
		// A person upsert without an email address fails.
		for _, at := range []int{n / 5, n / 2, n * 4 / 5} {
			for i := at; i < min(at+400, n); i++ {
				lines[i] = []byte(`{"first_name":"No Email","upsert_key":"email_address"}`)
			}
		}
	}
	size := api.MaxRecordsPerUpload
	if batch > 0 {
		size = batch
	}
	for from := 0; from < len(lines); from += size {
		body := append([]byte(`{"data":[`), bytes.Join(lines[from:min(len(lines), from+size)], []byte(","))...)
		body = append(body, "]}"...)
		for i, id := range jobs {
			if i == 1 && batch == 0 {
				break
			}
			if _, _, err := c.CreateJobData(ctx, id, body); err != nil {
				b.Fatal(err)
			}
		}
	}
	ready := true
	if _, _, err := c.UpdateJob(ctx, jobs[0], api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		b.Fatal(err)
	}
	for {
		job, _, err := c.GetJob(ctx, jobs[0])
		if err != nil {
			b.Fatal(err)
		}
		if job.State == api.StateDone {
			return srv, jobs[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
}
