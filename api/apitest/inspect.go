package apitest

import (
	"sync/atomic"
	"time"
)

// Endpoint names an API endpoint in Stats.
type Endpoint string

// The endpoints (§2). PATCH /v2/bulk_jobs/{id} counts as EndpointUpdateJob.
const (
	EndpointCreateJob     Endpoint = "POST /v2/bulk_jobs"
	EndpointListJobs      Endpoint = "GET /v2/bulk_jobs"
	EndpointGetJob        Endpoint = "GET /v2/bulk_jobs/{id}"
	EndpointUpdateJob     Endpoint = "PUT /v2/bulk_jobs/{id}"
	EndpointCreateJobData Endpoint = "POST /v2/bulk_jobs/{id}/job_data"
	EndpointListJobData   Endpoint = "GET /v2/bulk_jobs/{id}/job_data"
	EndpointListResults   Endpoint = "GET /v2/bulk_jobs/{id}/results"
	// EndpointUnknown counts requests for a path or method the API does
	// not have (answered 404 or 405, or 401 without a key).
	EndpointUnknown Endpoint = "unknown"
)

var endpoints = [...]Endpoint{EndpointUnknown, EndpointCreateJob, EndpointListJobs, EndpointGetJob,
	EndpointUpdateJob, EndpointCreateJobData, EndpointListJobData, EndpointListResults}

// counters are the atomics behind Stats.
type counters struct {
	endpoints [len(endpoints)]atomic.Int64
	statuses  [600]atomic.Int64
	faults    [numFaults]atomic.Int64

	unauthorized, rateLimited, jobs, batches, records, processed atomic.Int64
}

func (c *counters) endpoint(ep Endpoint) {
	for i, e := range endpoints {
		if e == ep {
			c.endpoints[i].Add(1)
			return
		}
	}
}

func (c *counters) status(s int) {
	if s >= 0 && s < len(c.statuses) {
		c.statuses[s].Add(1)
	}
}

// Stats is a snapshot of what an Emulator has done since New. Maps hold
// only non-zero counts.
type Stats struct {
	Requests     map[Endpoint]int64 // requests routed to each endpoint, whatever the answer
	Statuses     map[int]int64      // answers by HTTP status (reset connections are not answers)
	Unauthorized int64              // 401s
	RateLimited  int64              // 429s because a team's budget was spent (not FaultRateLimitOnGet)
	Faults       map[Fault]int64    // faults injected, by kind

	JobsCreated      int64
	BatchesStored    int64 // job_data calls stored
	RecordsStored    int64 // records stored by them
	RecordsProcessed int64 // records made final by the executor
}

// Stats returns a snapshot of the counters. Counters are read one by one,
// so a snapshot taken while requests run may be slightly inconsistent.
func (e *Emulator) Stats() Stats {
	c := &e.stats
	s := Stats{
		Requests:         make(map[Endpoint]int64),
		Statuses:         make(map[int]int64),
		Faults:           make(map[Fault]int64),
		Unauthorized:     c.unauthorized.Load(),
		RateLimited:      c.rateLimited.Load(),
		JobsCreated:      c.jobs.Load(),
		BatchesStored:    c.batches.Load(),
		RecordsStored:    c.records.Load(),
		RecordsProcessed: c.processed.Load(),
	}
	for i, ep := range endpoints {
		if n := c.endpoints[i].Load(); n > 0 {
			s.Requests[ep] = n
		}
	}
	for code := range c.statuses {
		if n := c.statuses[code].Load(); n > 0 {
			s.Statuses[code] = n
		}
	}
	for k := Fault(1); k < numFaults; k++ {
		if n := c.faults[k].Load(); n > 0 {
			s.Faults[k] = n
		}
	}
	return s
}

// Job is a snapshot of a bulk job. Times not yet set are zero (null on the
// wire); set times are UTC with microsecond precision.
type Job struct {
	ID             int64
	Team           string  // the team's name
	Name           *string // nil when not given
	Type           string
	State          string // "open", "executing" or "done"
	ReadyToExecute bool
	Total          int64 // records stored so far
	Processed      int64 // records final (success or error)
	Errors         int64 // records final with error
	Batches        int   // job_data calls stored

	CreatedAt, UpdatedAt, MarkedReadyAt, StartedAt, FinishedAt time.Time
}

// view snapshots j. Caller holds e.mu.
func (j *job) view() Job {
	v := Job{
		ID: j.id, Team: j.team.name, Type: j.typ, State: stateNames[j.state],
		ReadyToExecute: j.ready, Total: j.total, Processed: j.processed, Errors: j.errors,
		Batches:   len(j.batches),
		CreatedAt: j.created, UpdatedAt: j.updated, MarkedReadyAt: j.markedReady,
		StartedAt: j.started, FinishedAt: j.finished,
	}
	if j.hasName {
		name := j.name
		v.Name = &name
	}
	return v
}

// Row is a snapshot of one job-data record, as the API would list it.
type Row struct {
	ID       int64
	Status   string // "pending", "retrying", "success" or "error"
	Record   []byte // the record exactly as uploaded (a copy)
	Resource []byte // JSON of the resource; nil unless Status is "success"
	Error    string // "" unless Status is "error"
}

// Team is a snapshot of a team.
type Team struct {
	Name      string
	Jobs      int
	Used      int       // cost spent in the current budget window
	Remaining int       // cost left in it (2147483647 without a budget)
	WindowEnd time.Time // when the current window ends
}

// lookup returns the team of apiKey without creating one.
func (e *Emulator) lookup(apiKey string) *team {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.keys[apiKey]
}

// Job returns a snapshot of job id as the team of apiKey sees it, and
// false if that team has no such job.
func (e *Emulator) Job(apiKey string, id int64) (Job, bool) {
	t := e.lookup(apiKey)
	e.mu.Lock()
	defer e.mu.Unlock()
	if j := e.jobOf(t, id); j != nil {
		return j.view(), true
	}
	return Job{}, false
}

// Jobs returns snapshots of all jobs of apiKey's team, in ascending id.
func (e *Emulator) Jobs(apiKey string) []Job {
	t := e.lookup(apiKey)
	if t == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	views := make([]Job, len(t.jobs))
	for i, j := range t.jobs {
		views[i] = j.view()
	}
	return views
}

// Records returns copies of the records stored for a job, in id order,
// each exactly as uploaded; nil if apiKey's team has no such job. A test
// can compare them with what it sent to prove each record was stored
// exactly once.
func (e *Emulator) Records(apiKey string, jobID int64) [][]byte {
	t := e.lookup(apiKey)
	e.mu.Lock()
	j := e.jobOf(t, jobID)
	if j == nil {
		e.mu.Unlock()
		return nil
	}
	batches := append([]*batch(nil), j.batches...) // records are immutable
	e.mu.Unlock()
	size, n := 0, 0
	for _, b := range batches {
		n += b.len()
		for i := range b.len() {
			size += len(b.record(i))
		}
	}
	buf := make([]byte, 0, size)
	recs := make([][]byte, 0, n)
	for _, b := range batches {
		for i := range b.len() {
			start := len(buf)
			buf = append(buf, b.record(i)...)
			recs = append(recs, buf[start:len(buf):len(buf)])
		}
	}
	return recs
}

// Rows returns every job-data row of a job, in id order, rendered as the
// API would list them; nil if apiKey's team has no such job.
func (e *Emulator) Rows(apiKey string, jobID int64) []Row {
	t := e.lookup(apiKey)
	e.mu.Lock()
	j := e.jobOf(t, jobID)
	if j == nil {
		e.mu.Unlock()
		return nil
	}
	k := j.kind
	views := j.rows(listQuery{after: 0, perPage: int(j.total)}, make([]rowView, 0, j.total))
	e.mu.Unlock()
	rows := make([]Row, len(views))
	for i, v := range views {
		r := Row{ID: v.id, Status: statusNames[v.status], Record: append([]byte(nil), v.record...)}
		switch v.status {
		case rsSuccess:
			r.Resource = appendResource(nil, k, v.code, v.rid, v.record)
		case rsError:
			r.Error = v.code.message()
		}
		rows[i] = r
	}
	return rows
}

// Team returns a snapshot of apiKey's team, and false if the key has no
// team (yet).
func (e *Emulator) Team(apiKey string) (Team, bool) {
	t := e.lookup(apiKey)
	if t == nil {
		return Team{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roll(t, time.Now())
	return Team{Name: t.name, Jobs: len(t.jobs), Used: t.used, Remaining: e.remaining(t),
		WindowEnd: t.winStart.Add(e.cfg.RateWindow)}, true
}

// Spend spends cost from apiKey's team budget, as calls from another
// client of the same team would, without any HTTP. It spends at most what
// is left and returns what remains, or false if the key is not accepted.
// With any key accepted, it creates the key's team.
func (e *Emulator) Spend(apiKey string, cost int) (remaining int, ok bool) {
	t := e.teamFor(apiKey)
	if t == nil {
		return 0, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roll(t, time.Now())
	if e.cfg.RateLimit != NoLimit {
		t.used = min(t.used+max(cost, 0), e.cfg.RateLimit)
	}
	return e.remaining(t), true
}
