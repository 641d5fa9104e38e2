package apitest

import (
	"context"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Emulator is the Bulk Jobs API as an http.Handler, with all its state in
// memory and a background executor. Create it with New, serve it with any
// http.Server (or use NewServer), and Close it when done. All methods are
// safe for concurrent use.
type Emulator struct {
	cfg    Config // defaults applied
	types  map[string]bool
	log    *slog.Logger
	seed   maphash.Seed
	faults injector
	stats  counters

	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	wake      chan struct{} // nudges the executor
	execDone  chan struct{} // closed when the executor has returned

	mu           sync.Mutex
	keys         map[string]*team // API key -> team
	anyKey       bool             // accept any non-empty key
	jobs         map[int64]*job
	lastJob      int64 // last job id handed out
	lastData     int64 // last job-data id handed out, across all jobs and teams
	nextResource int64 // last person (or other resource) id handed out
	busy         []*team
	rng          *rand.Rand // record errors and out-of-order picks
}

// New validates cfg and returns a running Emulator: its executor goroutine
// runs until Close.
func New(cfg Config) (*Emulator, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		cfg:      c,
		types:    make(map[string]bool),
		log:      c.Logger,
		seed:     maphash.MakeSeed(),
		closing:  make(chan struct{}),
		wake:     make(chan struct{}, 1),
		execDone: make(chan struct{}),
		keys:     make(map[string]*team),
		jobs:     make(map[int64]*job),
		rng:      rand.New(rand.NewPCG(c.Seed, 0x6170697465737431)),
	}
	e.faults.f = c.Faults
	e.faults.rng = rand.New(rand.NewPCG(c.Seed, 0x6661756c74733031))
	for _, t := range c.Types {
		e.types[t] = true
	}
	e.addTeams(c)
	go e.run()
	return e, nil
}

// Close stops the executor and waits for it to return, releases requests
// delayed by latency or FaultStallAfterStore, and makes later requests
// answer 503. It does not wait for requests in flight: the http.Server
// does (Server.Close, http.Server.Shutdown). State stays readable. Close
// may be called more than once.
func (e *Emulator) Close() {
	e.closeOnce.Do(func() { close(e.closing) })
	<-e.execDone
}

func (e *Emulator) closed() bool {
	select {
	case <-e.closing:
		return true
	default:
		return false
	}
}

// ServeHTTP answers one API request. It never panics: every request gets a
// JSON answer with the rate-limit headers, or, for the reset faults, a
// reset connection.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{e: e, w: w, r: r, start: time.Now(), remaining: e.fullBudget()}
	defer x.finish()
	if e.closed() || !e.sleep(r.Context(), e.faults.latency()) {
		x.fail(http.StatusServiceUnavailable, "emulator closed or request canceled")
		return
	}
	rt := parseRoute(r.Method, r.URL.Path)
	e.stats.endpoint(rt.ep)
	if x.team = e.teamFor(bearer(r.Header.Get("Authorization"))); x.team == nil {
		e.stats.unauthorized.Add(1)
		x.fail(http.StatusUnauthorized, "missing or invalid API key: send Authorization: Bearer KEY")
		return
	}
	now := time.Now()
	left, ok := e.charge(x.team, now, 1)
	x.remaining = left
	if !ok {
		e.stats.rateLimited.Add(1)
		x.retryAfter(e.windowLeft(x.team, now))
		x.fail(http.StatusTooManyRequests, "rate limit exceeded: the team's budget for this window is spent")
		return
	}
	x.cost = 1
	switch rt.status {
	case http.StatusNotFound:
		x.fail(http.StatusNotFound, "not found: "+r.Method+" "+r.URL.Path)
		return
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rt.allow)
		x.fail(http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; allowed: "+rt.allow)
		return
	}
	if r.Method == http.MethodGet {
		if k, status := e.faults.draw(onGet); k != 0 {
			if k == FaultRateLimitOnGet {
				e.refund(x.team, now)
			}
			x.inject(k, status)
			return
		}
	}
	switch rt.ep {
	case EndpointCreateJob:
		x.createJob()
	case EndpointListJobs:
		x.listJobs()
	case EndpointGetJob:
		x.getJob(rt.id)
	case EndpointUpdateJob:
		x.updateJob(rt.id)
	case EndpointCreateJobData:
		x.createJobData(rt.id)
	case EndpointListJobData:
		x.listRows(rt.id, false)
	case EndpointListResults:
		x.listRows(rt.id, true)
	}
}

// fullBudget is the remaining budget reported before a team is known: a
// 401 reports the whole configured budget, since no team was charged.
func (e *Emulator) fullBudget() int {
	if e.cfg.RateLimit == NoLimit {
		return unlimited
	}
	return e.cfg.RateLimit
}

// finish logs the request.
func (x *exchange) finish() {
	if x.e.log == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", x.r.Method),
		slog.String("path", x.r.URL.Path),
		slog.Int("status", x.status),
		slog.Duration("duration", time.Since(x.start)),
	}
	if x.team != nil {
		attrs = append(attrs, slog.String("team", x.team.name), slog.Int("remaining", x.remaining))
	}
	if x.records > 0 {
		attrs = append(attrs, slog.Int("records", x.records))
	}
	if x.fault != 0 {
		attrs = append(attrs, slog.String("fault", x.fault.String()))
	}
	x.e.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header, or
// "" if there is none.
func bearer(h string) string {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// route is a parsed request path.
type route struct {
	ep     Endpoint
	id     int64  // the {id} in the path
	status int    // 0, or 404 / 405 when the request matches no endpoint
	allow  string // for 405
}

// parseRoute maps method and path to an endpoint (§2). Paths are exact: no
// trailing slash, no ".json", ids in decimal.
func parseRoute(method, path string) route {
	rest, ok := strings.CutPrefix(path, "/v2/bulk_jobs")
	switch {
	case !ok:
		return route{ep: EndpointUnknown, status: http.StatusNotFound}
	case rest == "":
		return pick(method, jobsRoutes)
	case rest[0] != '/':
		return route{ep: EndpointUnknown, status: http.StatusNotFound}
	}
	idText, sub, _ := strings.Cut(rest[1:], "/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || idText[0] == '+' || idText[0] == '0' {
		return route{ep: EndpointUnknown, status: http.StatusNotFound}
	}
	var rt route
	switch {
	case sub == "" && !strings.HasSuffix(rest, "/"):
		rt = pick(method, jobRoutes)
	case sub == "job_data":
		rt = pick(method, jobDataRoutes)
	case sub == "results":
		rt = pick(method, resultsRoutes)
	default:
		return route{ep: EndpointUnknown, status: http.StatusNotFound}
	}
	rt.id = id
	return rt
}

func pick(method string, eps routes) route {
	for _, m := range eps.methods {
		if m.method == method {
			return route{ep: m.ep}
		}
	}
	return route{ep: EndpointUnknown, status: http.StatusMethodNotAllowed, allow: eps.allow}
}

// routes are the methods of one path.
type routes struct {
	allow   string
	methods []methodRoute
}

type methodRoute struct {
	method string
	ep     Endpoint
}

var (
	jobsRoutes    = routes{"GET, POST", []methodRoute{{"GET", EndpointListJobs}, {"POST", EndpointCreateJob}}}
	jobRoutes     = routes{"GET, PUT, PATCH", []methodRoute{{"GET", EndpointGetJob}, {"PUT", EndpointUpdateJob}, {"PATCH", EndpointUpdateJob}}}
	jobDataRoutes = routes{"GET, POST", []methodRoute{{"GET", EndpointListJobData}, {"POST", EndpointCreateJobData}}}
	resultsRoutes = routes{"GET", []methodRoute{{"GET", EndpointListResults}}}
)
