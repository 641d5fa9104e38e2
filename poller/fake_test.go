package poller

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/bulkload/bulkload/api"
)

// fakeJob is an in-memory bulk job whose rows finish on a schedule computed
// up front from the clock, so it needs no goroutine and works inside a
// synctest bubble: a record's status at time t follows from t alone.
type fakeJob struct {
	id      int64
	ids     []int64 // row ids, ascending
	start   time.Time
	final   []time.Time // when row i becomes final
	retry   []time.Time // when row i starts retrying; zero if it never does
	outcome []api.Status
	sorted  []time.Time // final, sorted: processed(t) is a binary search
	errored []time.Time // final of the error rows, sorted

	latency time.Duration
	pace    time.Duration

	mu       sync.Mutex
	slot     time.Time            // when the next paced call may go
	dropped  int                  // paced calls cancelled while they waited
	fault    func(call int) error // if set, may fail call number call (from 1)
	calls    int
	jobCalls int
	lists    []listCall
}

type listCall struct {
	path  string // "job_data" or "results"
	after int64
	state api.State // the job's state when the call was made
	rows  int
}

type fakeConfig struct {
	n         int
	rate      float64       // records per second
	delay     time.Duration // before execution starts (waiting its turn)
	window    int           // out-of-order window; <= 1 means in order
	retryRate float64       // share of records that retry once, out of order only
	errorRate float64
	idStep    int64 // gap between ids; 0 means 1
	// run and gap, if run > 0, make the ids come in runs of run ids with
	// gap ids of another job's between runs (idStep is then ignored).
	run, gap int64
	// runs and gaps, if runs is set, make the ids come in runs of
	// irregular length: runs[k%len(runs)] ids, then gaps[k%len(gaps)] ids
	// of another job's (run, gap and idStep are then ignored).
	runs, gaps []int64
	// latency delays every call's answer, reported as its
	// api.Response.Duration: the poller then keeps pages in flight.
	latency time.Duration
	// pace, if set, lets one listing call go every pace, in the order they
	// come, like a budget before the network: a call cancelled while it
	// waits is not sent (and not counted); one that goes asks for a
	// connection through the context's httptrace, as api.Client does.
	// Without pace no call asks for one, so the poller may cancel any call
	// still in flight; the fake counts none cancelled before it answered.
	pace time.Duration
	seed uint64
}

// newFakeJob schedules a job like the emulator's executor: one pick every
// 1/rate seconds from a window of the next unfinished records; a record
// marked to retry is "retrying" after its first pick and final after its
// second.
func newFakeJob(c fakeConfig) *fakeJob {
	rng := rand.New(rand.NewPCG(c.seed, 7))
	step := max(c.idStep, 1)
	j := &fakeJob{
		id:      42,
		latency: c.latency,
		pace:    c.pace,
		start:   time.Now().Add(c.delay),
		final:   make([]time.Time, c.n),
		retry:   make([]time.Time, c.n),
		outcome: make([]api.Status, c.n),
	}
	id, k, left := int64(1000), 0, int64(0)
	if len(c.runs) > 0 {
		left = c.runs[0]
	}
	for i := range c.n {
		switch {
		case len(c.runs) > 0:
			if left == 0 {
				id += c.gaps[k%len(c.gaps)]
				k++
				left = c.runs[k%len(c.runs)]
			}
			left--
			j.ids = append(j.ids, id)
			id++
		case c.run > 0:
			j.ids = append(j.ids, 1000+int64(i)+int64(i)/c.run*c.gap)
		default:
			j.ids = append(j.ids, 1000+int64(i)*step)
		}
		j.outcome[i] = api.StatusSuccess
		if rng.Float64() < c.errorRate {
			j.outcome[i] = api.StatusError
		}
	}
	window := max(c.window, 1)
	willRetry := make([]bool, c.n)
	if window > 1 {
		for i := range willRetry {
			willRetry[i] = rng.Float64() < c.retryRate
		}
	}
	tick := func(k int) time.Time {
		return j.start.Add(time.Duration(float64(k+1) / c.rate * float64(time.Second)))
	}
	var open []int
	next, picks := 0, 0
	for next < c.n || len(open) > 0 {
		for len(open) < window && next < c.n {
			open = append(open, next)
			next++
		}
		k := 0
		if window > 1 {
			k = rng.IntN(len(open))
		}
		i := open[k]
		if willRetry[i] && j.retry[i].IsZero() {
			j.retry[i] = tick(picks)
		} else {
			j.final[i] = tick(picks)
			open = slices.Delete(open, k, k+1)
		}
		picks++
	}
	j.sorted = slices.Clone(j.final)
	slices.SortFunc(j.sorted, time.Time.Compare)
	for i, t := range j.final {
		if j.outcome[i] == api.StatusError {
			j.errored = append(j.errored, t)
		}
	}
	slices.SortFunc(j.errored, time.Time.Compare)
	return j
}

func (j *fakeJob) n() int { return len(j.ids) }

func (j *fakeJob) processed(t time.Time) int { return countUpTo(j.sorted, t) }

// countUpTo returns how many of the sorted times are at or before t.
func countUpTo(sorted []time.Time, t time.Time) int {
	return sort.Search(len(sorted), func(i int) bool { return sorted[i].After(t) })
}

// doneAt is when the last record becomes final.
func (j *fakeJob) doneAt() time.Time {
	if len(j.sorted) == 0 {
		return j.start
	}
	return j.sorted[len(j.sorted)-1]
}

func (j *fakeJob) status(i int, t time.Time) api.Status {
	switch {
	case !t.Before(j.final[i]):
		return j.outcome[i]
	case !j.retry[i].IsZero() && !t.Before(j.retry[i]):
		return api.StatusRetrying
	}
	return api.StatusPending
}

func (j *fakeJob) jobAt(t time.Time) api.Job {
	job := api.Job{ID: j.id, Type: "person/upsert", Total: int64(j.n()), State: api.StateExecuting}
	job.Processed = int64(j.processed(t))
	job.Errors = int64(countUpTo(j.errored, t))
	if job.Processed > 0 {
		started, updated := j.start, j.sorted[job.Processed-1]
		job.StartedAt, job.UpdatedAt = &started, &updated
	}
	if job.Processed == job.Total {
		job.State = api.StateDone
	}
	return job
}

func (j *fakeJob) row(i int, st api.Status) api.Result {
	r := api.Result{ID: j.ids[i], Status: st, Record: json.RawMessage(fmt.Sprintf(`{"email_address":"p%d@example.com"}`, i))}
	switch st {
	case api.StatusSuccess:
		r.Resource = json.RawMessage(fmt.Sprintf(`{"person":{"id":%d},"upsert_type":"create"}`, 9000+i))
	case api.StatusError:
		msg := "Missing required field: email address"
		r.Error = &msg
	}
	return r
}

// begin counts a call and returns the injected fault, if any.
func (j *fakeJob) begin(jobID int64) error {
	j.calls++
	if jobID != j.id {
		return &api.Error{Op: "fake", StatusCode: http.StatusNotFound, Message: "no such job"}
	}
	if j.fault != nil {
		return j.fault(j.calls)
	}
	return nil
}

// wait sleeps the latency, or until ctx is done.
func (j *fakeJob) wait(ctx context.Context) error {
	if j.latency <= 0 {
		return nil
	}
	t := time.NewTimer(j.latency)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return &api.Error{Op: "fake", Err: ctx.Err()}
	case <-t.C:
		return nil
	}
}

func (j *fakeJob) GetJob(ctx context.Context, id int64) (api.Job, api.Response, error) {
	if err := j.wait(ctx); err != nil {
		return api.Job{}, api.Response{}, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.jobCalls++
	if err := j.begin(id); err != nil {
		return api.Job{}, api.Response{}, err
	}
	return j.jobAt(time.Now()), api.Response{StatusCode: 200, Duration: j.latency}, nil
}

// gate waits for the pace's next slot, or until ctx is done: then the call
// is not sent, and its slot goes back if no later call took one.
func (j *fakeJob) gate(ctx context.Context) error {
	if j.pace <= 0 {
		return nil
	}
	j.mu.Lock()
	slot := j.slot
	if now := time.Now(); now.After(slot) {
		slot = now
	}
	j.slot = slot.Add(j.pace)
	j.mu.Unlock()
	t := time.NewTimer(time.Until(slot))
	defer t.Stop()
	select {
	case <-ctx.Done():
		j.mu.Lock()
		j.dropped++
		if j.slot.Equal(slot.Add(j.pace)) {
			j.slot = slot
		}
		j.mu.Unlock()
		return &api.Error{Op: "fake", Err: ctx.Err()}
	case <-t.C:
	}
	if tr := httptrace.ContextClientTrace(ctx); tr != nil && tr.GetConn != nil {
		tr.GetConn("fake")
	}
	return nil
}

func (j *fakeJob) droppedCalls() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.dropped
}

func (j *fakeJob) ListJobData(ctx context.Context, id int64, o api.ListOptions) ([]api.Result, api.Response, error) {
	if err := j.gate(ctx); err != nil {
		return nil, api.Response{}, err
	}
	if err := j.wait(ctx); err != nil {
		return nil, api.Response{}, err
	}
	return j.list("job_data", id, o)
}

func (j *fakeJob) ListResults(ctx context.Context, id int64, o api.ListOptions) ([]api.Result, api.Response, error) {
	if err := j.wait(ctx); err != nil {
		return nil, api.Response{}, err
	}
	return j.list("results", id, o)
}

func (j *fakeJob) list(path string, id int64, o api.ListOptions) ([]api.Result, api.Response, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := time.Now()
	job := j.jobAt(now)
	call := listCall{path: path, after: o.After, state: job.State}
	defer func() { j.lists = append(j.lists, call) }()
	if err := j.begin(id); err != nil {
		return nil, api.Response{}, err
	}
	if path == "results" && job.State != api.StateDone {
		return []api.Result{}, api.Response{StatusCode: 200}, nil
	}
	per := o.PerPage
	if per == 0 {
		per = 25
	}
	var rows []api.Result
	for i := sort.Search(j.n(), func(i int) bool { return j.ids[i] > o.After }); i < j.n() && len(rows) < per; i++ {
		st := j.status(i, now)
		if len(o.Statuses) > 0 && !slices.Contains(o.Statuses, st) {
			continue
		}
		rows = append(rows, j.row(i, st))
	}
	call.rows = len(rows)
	return rows, api.Response{StatusCode: 200, Duration: j.latency}, nil
}

// listCalls returns how many listing calls were made (failed ones included).
func (j *fakeJob) listCalls() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.lists)
}

func (j *fakeJob) getCalls() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.jobCalls
}

// want returns the rows a complete poll hands over, final, in id order.
func (j *fakeJob) want(errorsOnly bool) []api.Result {
	var rows []api.Result
	for i := range j.n() {
		if !errorsOnly || j.outcome[i] == api.StatusError {
			rows = append(rows, j.row(i, j.outcome[i]))
		}
	}
	return rows
}
