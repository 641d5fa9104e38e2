package apitest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestExecutorLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEmulator(t, Config{ProcessRate: 100})
		id := createJob(t, e, "k")
		upload(t, e, "k", id, strings.Split(strings.Repeat(`{"email_address":"a@b"},`, 20), ",")[:20]...)
		upload(t, e, "k", id, `{"first_name":"no key"}`)
		time.Sleep(time.Second)
		ready := data[wireJob](t, mustCall(t, e, 200, "PUT", jobPath(id), "k", `{"ready_to_execute":true}`))
		if ready.State != "executing" || !ready.ReadyToExecute || ready.Total != 21 || ready.Processed != 0 ||
			ready.MarkedReadyAt == nil || *ready.MarkedReadyAt != "2000-01-01T00:00:01.000000Z" || ready.StartedAt != nil {
			t.Fatalf("PUT ready = %+v; want executing, marked ready now, not started", ready)
		}
		synctest.Wait()
		j, _ := e.Job("k", id)
		if j.StartedAt.IsZero() || j.Processed != 0 {
			t.Errorf("right after PUT: %+v; want started, none processed", j)
		}
		time.Sleep(105 * time.Millisecond) // 10 ticks of 10 ms at 100/s
		mid := data[wireJob](t, mustCall(t, e, 200, "GET", jobPath(id), "k", ""))
		if mid.State != "executing" || mid.Processed < 9 || mid.Processed > 11 || mid.FinishedAt != nil {
			t.Errorf("after 105ms = %+v; want executing with about 10 processed", mid)
		}
		if mid.UpdatedAt == nil || *mid.UpdatedAt == *ready.UpdatedAt {
			t.Errorf("updated_at %v did not move while processing", mid.UpdatedAt)
		}
		if rows := data[[]wireRow](t, mustCall(t, e, 200, "GET", jobPath(id)+"/results", "k", "")); len(rows) != 0 {
			t.Errorf("results while executing = %d rows; want 0", len(rows))
		}
		time.Sleep(time.Second)
		done := data[wireJob](t, mustCall(t, e, 200, "GET", jobPath(id), "k", ""))
		if done.State != "done" || done.Processed != 21 || done.Errors != 1 || done.FinishedAt == nil ||
			*done.UpdatedAt != *done.FinishedAt {
			t.Fatalf("after 1.1s = %+v; want done, 21 processed, 1 error", done)
		}
		fin, _ := time.Parse(time.RFC3339, *done.FinishedAt)
		if got := fin.Sub(j.StartedAt); got < 200*time.Millisecond || got > 230*time.Millisecond {
			t.Errorf("finished_at - started_at = %v; want about 210ms for 21 records at 100/s", got)
		}
		rows := data[[]wireRow](t, mustCall(t, e, 200, "GET", jobPath(id)+"/results?per_page=100", "k", ""))
		if len(rows) != 21 || rows[20].Status != "error" || *rows[20].Error != "Missing required field: email address" {
			t.Errorf("results = %d rows, last %+v", len(rows), rows[len(rows)-1])
		}
	})
}

func TestExecutorOneJobPerTeam(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEmulator(t, Config{ProcessRate: 100, Teams: map[string]string{"a": "A", "a2": "A", "b": "B"}})
		var ids []int64
		for _, key := range []string{"a", "a2", "b"} {
			id := createJob(t, e, key)
			upload(t, e, key, id, slices.Repeat([]string{`{"email_address":"x"}`}, 50)...)
			ids = append(ids, id)
		}
		for i, key := range []string{"a", "a2", "b"} {
			mustCall(t, e, 200, "PUT", jobPath(ids[i]), key, `{"ready_to_execute":true}`)
		}
		time.Sleep(255 * time.Millisecond)
		first, _ := e.Job("a", ids[0])
		second, _ := e.Job("a", ids[1])
		other, _ := e.Job("b", ids[2])
		if first.State != "executing" || first.Processed < 20 {
			t.Errorf("first job = %+v; want executing with progress", first)
		}
		if second.State != "executing" || second.Processed != 0 || !second.StartedAt.IsZero() {
			t.Errorf("queued job = %+v; want executing, processed 0, not started", second)
		}
		if other.Processed != first.Processed {
			t.Errorf("other team processed %d; want %d (teams run side by side)", other.Processed, first.Processed)
		}
		time.Sleep(time.Second)
		first, _ = e.Job("a", ids[0])
		second, _ = e.Job("a", ids[1])
		if first.State != "done" || second.State != "done" || second.StartedAt.Before(first.FinishedAt) {
			t.Errorf("jobs = %+v / %+v; want both done, the second started after the first finished", first, second)
		}
	})
}

func TestEmptyJobFinishes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEmulator(t, Config{})
		id := createJob(t, e, "k")
		mustCall(t, e, 200, "PUT", jobPath(id), "k", `{"ready_to_execute":true}`)
		synctest.Wait()
		if j, _ := e.Job("k", id); j.State != "done" || j.FinishedAt.IsZero() || !j.StartedAt.Equal(j.FinishedAt) {
			t.Errorf("empty job = %+v; want done at once", j)
		}
	})
}

// runJob uploads records to a new job of type typ, runs it to done and
// returns its rows.
func runJob(t *testing.T, e *Emulator, key, typ string, records ...string) []Row {
	t.Helper()
	id := data[wireJob](t, mustCall(t, e, 200, "POST", "/v2/bulk_jobs", key, `{"type":"`+typ+`"}`)).ID
	upload(t, e, key, id, records...)
	mustCall(t, e, 200, "PUT", jobPath(id), key, `{"ready_to_execute":true}`)
	waitState(t, e, key, id, "done")
	return e.Rows(key, id)
}

func TestPersonUpsert(t *testing.T) {
	e := newEmulator(t, Config{ProcessRate: NoLimit})
	tests := []struct {
		record string
		want   string // "create N", "update N" or the error
	}{
		{`{"email_address":"test@gmail.com","first_name":"Test","upsert_key":"email_address"}`, "create 1"},
		{`{"email_address":"test@gmail.com","first_name":"Test Second Maybe","upsert_key":"email_address"}`, "update 1"},
		{`{"email_address":"test@gmail.com"}`, "create 2"}, // no upsert_key: never an update
		{`{"first_name":"John","last_name":"Smith"}`, "Missing required field: email address"},
		{`{"email_address":null,"id":""}`, "Missing required field: email address"},
		{`{"email_address":"x@y","upsert_key":"crm_id"}`, "Missing required field: crm id"},
		{`{"crm_id":"003A","upsert_key":"email_address"}`, "Missing required field: email address"},
		{`{"crm_id":"003A","upsert_key":"id"}`, "Missing required field: id"},
		{`{"crm_id":"003A","upsert_key":"phone"}`, "Invalid upsert_key: must be one of id, crm_id, email_address"},
		{`{"crm_id":"003A","crm_id_type":"salesforce","upsert_key":"crm_id"}`, "create 3"},
		{`{"crm_id":"003A","email_address":"c@d","upsert_key":"crm_id"}`, "update 3"},
		{`{"email_address":"c@d","upsert_key":"email_address"}`, "update 3"}, // indexed by the previous update
		{`{"id":3,"title":"CEO","upsert_key":"id"}`, "update 3"},
		{`{"id":"1","upsert_key":"id"}`, "update 1"},
		{`{"id":999,"upsert_key":"id"}`, "create 4"},
		{`{"em\u0061il_address":"test@gmail.com","upsert_key":"email_address"}`, "update 1"},
	}
	var recs []string
	for _, tt := range tests {
		recs = append(recs, tt.record)
	}
	rows := runJob(t, e, "k", "person/upsert", recs...)
	for i, tt := range tests {
		r := rows[i]
		var got string
		if r.Status == "error" {
			got = r.Error
		} else {
			var res struct {
				Person     map[string]any
				UpsertType string `json:"upsert_type"`
			}
			if err := jsonUnmarshal(r.Resource, &res); err != nil {
				t.Fatalf("resource %s: %v", r.Resource, err)
			}
			got = fmt.Sprintf("%s %v", res.UpsertType, res.Person["id"])
		}
		if got != tt.want {
			t.Errorf("%s -> %q; want %q", tt.record, got, tt.want)
		}
		if string(r.Record) != tt.record {
			t.Errorf("record = %s; want %s", r.Record, tt.record)
		}
	}
	// The resource carries the record's fields, with the person's id.
	if got, want := string(rows[12].Resource), `{"person":{"id":3,"title":"CEO","upsert_key":"id"},"upsert_type":"update"}`; got != want {
		t.Errorf("resource = %s; want %s", got, want)
	}
	// Another team has its own people.
	other := runJob(t, e, "other", "person/upsert", tests[1].record)
	if !strings.Contains(string(other[0].Resource), `"upsert_type":"create"`) {
		t.Errorf("other team's first upsert = %s; want a create", other[0].Resource)
	}
}

func TestCalendarUpsert(t *testing.T) {
	e := newEmulator(t, Config{ProcessRate: NoLimit})
	full := `{"id":"e1","i_cal_uid":"u1","start_time":"2024-01-01T10:00:00Z","end_time":"2024-01-01T11:00:00Z","calendar_id":"c1","title":"T"}`
	rows := runJob(t, e, "k", "calendar/events/upsert",
		full, full,
		strings.Replace(full, `"c1"`, `"c2"`, 1),
		strings.Replace(full, `"i_cal_uid":"u1",`, ``, 1),
		strings.Replace(full, `"end_time"`, `"end"`, 1),
	)
	want := []string{`{"event":` + full + `,"upsert_type":"create"}`, `{"event":` + full + `,"upsert_type":"update"}`, "create", "Missing required field: i cal uid", "Missing required field: end time"}
	for i, w := range want {
		r := rows[i]
		if got := string(r.Resource) + r.Error; !strings.Contains(got, w) {
			t.Errorf("row %d = %s%s; want %s", i, r.Resource, r.Error, w)
		}
	}
	g := runJob(t, newEmulator(t, Config{ProcessRate: NoLimit, Types: []string{"account/upsert"}}), "k", "account/upsert", `{}`, `{}`)
	if string(g[0].Resource) != `{"id":1}` || string(g[1].Resource) != `{"id":2}` {
		t.Errorf("generic resources = %s, %s; want {\"id\":1}, {\"id\":2}", g[0].Resource, g[1].Resource)
	}
}

func TestErrorRate(t *testing.T) {
	run := func(seed uint64) []int64 {
		e := newEmulator(t, Config{ProcessRate: NoLimit, ErrorRate: 0.3, Seed: seed})
		var failed []int64
		for _, r := range runJob(t, e, "k", "person/upsert", slices.Repeat([]string{`{"email_address":"a"}`}, 1000)...) {
			if r.Status == "error" {
				if !strings.Contains(r.Error, "injected") {
					t.Fatalf("error %q; want the injected one", r.Error)
				}
				failed = append(failed, r.ID)
			}
		}
		return failed
	}
	a, b, c := run(1), run(1), run(2)
	if len(a) < 220 || len(a) > 380 {
		t.Errorf("errors = %d of 1000; want about 300", len(a))
	}
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Errorf("same seed gave different errors, or different seeds the same")
	}
}

// TestOutOfOrder polls job_data as a cursor poller would and checks what
// OutOfOrder promises: rows finish out of id order, some pass through
// retrying, processed counts final rows, and a poller that advances its
// cursor only past final rows sees every row once.
func TestOutOfOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEmulator(t, Config{ProcessRate: 2000, OutOfOrder: true, OutOfOrderWindow: 40, Seed: 7})
		id := createJob(t, e, "k")
		const n = 500
		for range n / 100 {
			upload(t, e, "k", id, slices.Repeat([]string{`{"email_address":"a"}`}, 100)...)
		}
		mustCall(t, e, 200, "PUT", jobPath(id), "k", `{"ready_to_execute":true}`)
		var (
			cursor        int64
			seen          = map[int64]int{}
			sawRetrying   bool
			sawOutOfOrder bool
		)
		for range 1000 {
			time.Sleep(5 * time.Millisecond)
			synctest.Wait()
			job := data[wireJob](t, mustCall(t, e, 200, "GET", jobPath(id), "k", ""))
			all := e.Rows("k", id)
			final := 0
			pendingBelow := false
			for _, r := range all {
				switch r.Status {
				case "success", "error":
					final++
					sawOutOfOrder = sawOutOfOrder || pendingBelow
				case "retrying":
					sawRetrying = true
					pendingBelow = true
				default:
					pendingBelow = true
				}
			}
			if int64(final) != job.Processed {
				t.Fatalf("processed = %d; final rows = %d", job.Processed, final)
			}
			// The poller: take final rows after the cursor up to the first that is not final.
			rows := data[[]wireRow](t, mustCall(t, e, 200, "GET", jobPath(id)+"/job_data?per_page=100&id[gt]="+itoa(cursor), "k", ""))
			for _, r := range rows {
				if r.Status != "success" && r.Status != "error" {
					break
				}
				seen[r.ID]++
				cursor = r.ID
			}
			if job.State == "done" && len(seen) == n {
				break
			}
		}
		if len(seen) != n {
			t.Fatalf("poller saw %d rows; want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("row %d seen %d times", id, c)
			}
		}
		if !sawRetrying || !sawOutOfOrder {
			t.Errorf("retrying seen %v, out of order seen %v; want both", sawRetrying, sawOutOfOrder)
		}
	})
}
