package apitest

import (
	"net/http"
	"sort"
	"strings"
)

// dataPrefix and dataSuffix wrap every 200 body (§1.3).
const (
	dataPrefix = `{"data":`
	dataSuffix = `}`
)

// answerJob answers 200 with {"data": job}.
func (x *exchange) answerJob(j *Job) {
	b := append(make([]byte, 0, 512), dataPrefix...)
	b = appendJob(b, j)
	x.write(http.StatusOK, append(b, dataSuffix...))
}

func (x *exchange) notFound() {
	x.fail(http.StatusNotFound, "bulk job not found")
}

// createJob is POST /v2/bulk_jobs (§2.1).
func (x *exchange) createJob() {
	body, ok := x.readBody()
	if !ok {
		return
	}
	f, be := parseFields(body, isForm(x.r))
	if be != nil {
		x.refuse(be)
		return
	}
	var errs []fieldError
	typ, isStr := decodeString(f["type"])
	switch {
	case f["type"] == nil || string(f["type"]) == "null" || isStr && typ == "":
		errs = append(errs, fieldError{"type", "can't be blank"})
	case !isStr:
		errs = append(errs, fieldError{"type", "must be a string"})
	case !x.e.types[typ]:
		errs = append(errs, fieldError{"type", "is not a valid type; accepted: " + strings.Join(x.e.cfg.Types, ", ")})
	}
	name, hasName, ok := optionalString(f["name"])
	if !ok {
		errs = append(errs, fieldError{"name", "must be a string"})
	}
	if len(errs) > 0 {
		x.reject(errs...)
		return
	}
	e := x.e
	e.mu.Lock()
	e.lastJob++
	t := now()
	j := &job{id: e.lastJob, team: x.team, typ: typ, kind: kindOf(typ),
		name: name, hasName: hasName, created: t, updated: t}
	x.team.jobs = append(x.team.jobs, j)
	e.jobs[j.id] = j
	v := j.view()
	e.mu.Unlock()
	e.stats.jobs.Add(1)
	x.answerJob(&v)
}

// optionalString reads an optional string field: absent or null gives
// has == false; ok is false for a value that is not a string.
func optionalString(raw []byte) (s string, has, ok bool) {
	if raw == nil || string(raw) == "null" {
		return "", false, true
	}
	s, ok = decodeString(raw)
	return s, ok, ok
}

// listJobs is GET /v2/bulk_jobs (§2.2): the team's jobs in ascending id.
func (x *exchange) listJobs() {
	q, be := parseListQuery(x.r.URL.RawQuery, "state", stateNames[:], "open, executing, done")
	if be != nil {
		x.refuse(be)
		return
	}
	var views []Job
	x.e.mu.Lock()
	jobs := x.team.jobs
	for _, j := range jobs[sort.Search(len(jobs), func(i int) bool { return jobs[i].id > q.after }):] {
		if len(views) == q.perPage {
			break
		}
		if q.accepts(uint8(j.state)) {
			views = append(views, j.view())
		}
	}
	x.e.mu.Unlock()
	b := append(make([]byte, 0, 64+len(views)*512), dataPrefix+"["...)
	for i := range views {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJob(b, &views[i])
	}
	x.write(http.StatusOK, append(b, "]"+dataSuffix...))
}

// getJob is GET /v2/bulk_jobs/{id} (§2.3).
func (x *exchange) getJob(id int64) {
	x.e.mu.Lock()
	j := x.e.jobOf(x.team, id)
	var v Job
	if j != nil {
		v = j.view()
	}
	x.e.mu.Unlock()
	if j == nil {
		x.notFound()
		return
	}
	x.answerJob(&v)
}

// updateJob is PUT (or PATCH) /v2/bulk_jobs/{id} (§2.4): name and/or
// ready_to_execute, only while the job is open. ready_to_execute true
// moves the job to executing at once and queues it on its team's executor.
func (x *exchange) updateJob(id int64) {
	e := x.e
	e.mu.Lock()
	found := e.jobOf(x.team, id) != nil
	e.mu.Unlock()
	if !found {
		x.notFound()
		return
	}
	body, ok := x.readBody()
	if !ok {
		return
	}
	f, be := parseFields(body, isForm(x.r))
	if be != nil {
		x.refuse(be)
		return
	}
	var errs []fieldError
	_, setName := f["name"]
	name, hasName, ok := optionalString(f["name"])
	if !ok {
		errs = append(errs, fieldError{"name", "must be a string"})
	}
	rawReady, setReady := f["ready_to_execute"]
	ready := string(rawReady) == "true"
	if setReady && !ready && string(rawReady) != "false" {
		errs = append(errs, fieldError{"ready_to_execute", "must be true or false"})
	}
	e.mu.Lock()
	j := e.jobOf(x.team, id)
	if j.state != stOpen {
		errs = append(errs, notOpen(j.state))
	}
	if len(errs) > 0 {
		e.mu.Unlock()
		x.reject(errs...)
		return
	}
	t := now()
	if setName && (name != j.name || hasName != j.hasName) {
		j.name, j.hasName, j.updated = name, hasName, t
	}
	if ready {
		j.ready, j.state, j.markedReady, j.updated = true, stExecuting, t, t
		if len(j.team.queue) == 0 {
			e.busy = append(e.busy, j.team)
		}
		j.team.queue = append(j.team.queue, j)
	}
	v := j.view()
	e.mu.Unlock()
	if ready {
		e.nudge()
	}
	x.answerJob(&v)
}

// notOpen is the 422 for changing a job that is not open (§11).
func notOpen(s jobState) fieldError {
	return fieldError{"state", "bulk job is " + stateNames[s] + "; only an open job can be changed"}
}
