package apitest

import (
	"net/http"
	"strconv"
)

// createJobData is POST /v2/bulk_jobs/{id}/job_data (§2.5): 1 to 5,000
// JSON objects, stored all or nothing while the job is open. Records get
// the next ids of the emulator-wide job-data sequence.
func (x *exchange) createJobData(id int64) {
	e := x.e
	if k, status := e.faults.draw(beforeStore); k != 0 {
		x.inject(k, status)
		return
	}
	e.mu.Lock()
	j := e.jobOf(x.team, id)
	var state jobState
	if j != nil {
		state = j.state
	}
	e.mu.Unlock()
	switch {
	case j == nil:
		x.notFound()
		return
	case state != stOpen:
		x.reject(notOpen(state))
		return
	}
	body, ok := x.readBody()
	if !ok {
		return
	}
	offs, be := parseJobData(body)
	if be != nil {
		x.refuse(be)
		return
	}
	n := len(offs) / 2
	b := &batch{buf: body, offs: offs, status: make([]rowStatus, n), code: make([]outcome, n), rid: make([]int64, n)}

	e.mu.Lock()
	if j.state != stOpen { // marked ready while the body was read
		state = j.state
		e.mu.Unlock()
		x.reject(notOpen(state))
		return
	}
	b.first, b.ord = e.lastData+1, j.total
	e.lastData += int64(n)
	j.total += int64(n)
	j.batches = append(j.batches, b)
	j.updated = now()
	e.mu.Unlock()
	e.stats.batches.Add(1)
	e.stats.records.Add(int64(n))
	x.records = n

	if k, status := e.faults.draw(afterStore); k != 0 && x.inject(k, status) {
		return
	}
	out := append(make([]byte, 0, 32), dataPrefix+`{"records":`...)
	out = strconv.AppendInt(out, int64(n), 10)
	x.write(http.StatusOK, append(out, "}"+dataSuffix...))
}

// listRows is GET /v2/bulk_jobs/{id}/job_data (§2.6) or, with results,
// GET /v2/bulk_jobs/{id}/results (§2.7): rows in ascending id after id[gt],
// filtered by status. /results is empty until the job is done.
func (x *exchange) listRows(id int64, results bool) {
	e := x.e
	e.mu.Lock()
	found := e.jobOf(x.team, id) != nil
	e.mu.Unlock()
	if !found {
		x.notFound()
		return
	}
	q, be := parseListQuery(x.r.URL.RawQuery, "status", statusNames[:], "pending, success, error, retrying")
	if be != nil {
		x.refuse(be)
		return
	}
	rows := make([]rowView, 0, q.perPage)
	e.mu.Lock()
	j := e.jobOf(x.team, id)
	k := j.kind
	if !results || j.state == stDone {
		rows = j.rows(q, rows)
	}
	e.mu.Unlock()

	size := 16
	for i := range rows {
		size += 2*len(rows[i].record) + 128
	}
	out := append(make([]byte, 0, size), dataPrefix+"["...)
	for i := range rows {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendRow(out, k, &rows[i])
	}
	x.write(http.StatusOK, append(out, "]"+dataSuffix...))
}

// rows appends to dst up to q.perPage rows of j after q.after that pass
// q's filter. Caller holds the emulator's lock.
func (j *job) rows(q listQuery, dst []rowView) []rowView {
	for k, i := j.seek(q.after); k < len(j.batches); k, i = k+1, 0 {
		b := j.batches[k]
		for ; i < b.len(); i++ {
			if !q.accepts(uint8(b.status[i])) {
				continue
			}
			if len(dst) == q.perPage {
				return dst
			}
			dst = append(dst, rowView{id: b.first + int64(i), status: b.status[i],
				code: b.code[i], rid: b.rid[i], record: b.record(i)})
		}
	}
	return dst
}
