package apitest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// keysOf returns the top-level keys of a JSON object in their order.
func keysOf(tb testing.TB, obj []byte) []string {
	tb.Helper()
	var keys []string
	it := newMemberIter(obj)
	for k, _, ok := it.next(); ok; k, _, ok = it.next() {
		s, _ := decodeString(k)
		keys = append(keys, s)
	}
	return keys
}

func TestCreateJobShape(t *testing.T) {
	e := newEmulator(t, Config{})
	a := mustCall(t, e, 200, "POST", "/v2/bulk_jobs", "k", `{"type":"person/upsert"}`)
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(a.body, &env); err != nil {
		t.Fatal(err)
	}
	want := []string{"created_at", "errors", "finished_at", "id", "marked_ready_at", "name", "processed",
		"ready_to_execute", "scopes", "started_at", "state", "total", "type", "updated_at"}
	if got := keysOf(t, env.Data); !slices.Equal(got, want) {
		t.Errorf("job keys = %v; want %v", got, want)
	}
	re := regexp.MustCompile(`^\{"created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z","errors":0,"finished_at":null,"id":1,` +
		`"marked_ready_at":null,"name":null,"processed":0,"ready_to_execute":false,"scopes":\[\],"started_at":null,` +
		`"state":"open","total":0,"type":"person/upsert","updated_at":"[^"]+"\}$`)
	if !re.Match(env.Data) {
		t.Errorf("job = %s; want the S1 shape", env.Data)
	}
	j := data[wireJob](t, a)
	if *j.CreatedAt != *j.UpdatedAt {
		t.Errorf("updated_at = %s; want created_at %s", *j.UpdatedAt, *j.CreatedAt)
	}
	if _, err := time.Parse(time.RFC3339Nano, *j.CreatedAt); err != nil {
		t.Errorf("created_at: %v", err)
	}
}

func TestCreateJob(t *testing.T) {
	tests := []struct {
		name, body, ctype string
		code              int
		want              string // substring of the body
	}{
		{"minimal", `{"type":"person/upsert"}`, "", 200, `"type":"person/upsert"`},
		{"named", `{"type":"calendar/events/upsert","name":"Q\"4"}`, "", 200, `"name":"Q\"4"`},
		{"null name", `{"type":"person/upsert","name":null}`, "", 200, `"name":null`},
		{"extra members", `{"type":"person/upsert","x":[1]}`, "", 200, `"state":"open"`},
		{"form", `type=person%2Fupsert&name=F`, "application/x-www-form-urlencoded", 200, `"name":"F"`},
		{"missing type", `{"name":"x"}`, "", 422, `{"errors":{"type":["can't be blank"]}}`},
		{"empty body", ``, "", 422, `{"errors":{"type":`},
		{"empty type", `{"type":""}`, "", 422, `{"errors":{"type":`},
		{"null type", `{"type":null}`, "", 422, `{"errors":{"type":`},
		{"type not string", `{"type":5}`, "", 422, `{"errors":{"type":["must be a string"]}}`},
		{"unknown type", `{"type":"crm_share/upsert"}`, "", 422, `{"errors":{"type":["is not a valid type`},
		{"name not string", `{"type":"person/upsert","name":1}`, "", 422, `{"errors":{"name":["must be a string"]}}`},
		{"two errors", `{"type":1,"name":1}`, "", 422, `{"errors":{"name":["must be a string"],"type":["must be a string"]}}`},
		{"malformed", `{"type":`, "", 400, `{"error":"malformed JSON`},
		{"array", `["person/upsert"]`, "", 400, `{"error":"request body must be a JSON object"}`},
		{"bad form", `type=%zz`, "application/x-www-form-urlencoded", 400, `{"error":"malformed form`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmulator(t, Config{})
			req := newRequest("POST", "/v2/bulk_jobs", "k", tt.body)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			a := serve(e, req)
			if a.code != tt.code || !strings.Contains(string(a.body), tt.want) {
				t.Errorf("POST = %d %s; want %d containing %s", a.code, a.body, tt.code, tt.want)
			}
			if n := len(e.Jobs("k")); (n == 1) != (tt.code == 200) {
				t.Errorf("jobs stored = %d after a %d", n, a.code)
			}
		})
	}
}

func TestUpdateJob(t *testing.T) {
	tests := []struct {
		name, method, body string
		code               int
		want               string
	}{
		{"rename", "PUT", `{"name":"n"}`, 200, `"name":"n","processed":0,"ready_to_execute":false`},
		{"clear name", "PUT", `{"name":null}`, 200, `"name":null`},
		{"ready", "PUT", `{"ready_to_execute":true}`, 200, `"ready_to_execute":true,"scopes":[],"started_at":null,"state":"executing","total":1`},
		{"patch alias", "PATCH", `{"ready_to_execute":true,"name":"p"}`, 200, `"state":"executing"`},
		{"S12 body with id", "PUT", `{"id":1,"ready_to_execute":true}`, 200, `"state":"executing"`},
		{"not ready", "PUT", `{"ready_to_execute":false}`, 200, `"state":"open"`},
		{"empty", "PUT", `{}`, 200, `"state":"open"`},
		{"ready string", "PUT", `{"ready_to_execute":"true"}`, 422, `{"errors":{"ready_to_execute":["must be true or false"]}}`},
		{"ready null", "PUT", `{"ready_to_execute":null}`, 422, `ready_to_execute`},
		{"ready 1", "PUT", `{"ready_to_execute":1}`, 422, `ready_to_execute`},
		{"name number", "PUT", `{"name":2}`, 422, `{"errors":{"name":`},
		{"malformed", "PUT", `{"ready_to_execute":tru}`, 400, `{"error":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmulator(t, Config{ProcessRate: 1e-9})
			id := createJob(t, e, "k")
			upload(t, e, "k", id, `{"email_address":"a@b"}`)
			a := call(t, e, tt.method, jobPath(id), "k", tt.body)
			if a.code != tt.code || !strings.Contains(string(a.body), tt.want) {
				t.Fatalf("%s = %d %s; want %d containing %s", tt.method, a.code, a.body, tt.code, tt.want)
			}
			if a.code != 200 {
				return
			}
			j := data[wireJob](t, a)
			if j.ReadyToExecute != (j.MarkedReadyAt != nil) {
				t.Errorf("ready_to_execute %v with marked_ready_at %v", j.ReadyToExecute, j.MarkedReadyAt)
			}
		})
	}
}

func TestNotOpen(t *testing.T) {
	e := newEmulator(t, Config{ProcessRate: 1e-9})
	id := createJob(t, e, "k")
	upload(t, e, "k", id, `{"email_address":"a@b"}`)
	mustCall(t, e, 200, "PUT", jobPath(id), "k", `{"ready_to_execute":true}`)
	for _, c := range []struct{ method, path, body string }{
		{"PUT", jobPath(id), `{"ready_to_execute":true}`},
		{"PUT", jobPath(id), `{"name":"late"}`},
		{"POST", jobPath(id) + "/job_data", `{"data":[{"email_address":"c@d"}]}`},
		{"POST", jobPath(id) + "/job_data", `not even JSON`},
	} {
		a := call(t, e, c.method, c.path, "k", c.body)
		if a.code != 422 || !strings.HasPrefix(string(a.body), `{"errors":{"state":["bulk job is executing;`) {
			t.Errorf("%s %s = %d %s; want 422 on state", c.method, c.body, a.code, a.body)
		}
	}
	if j, _ := e.Job("k", id); j.Total != 1 || j.Name != nil || j.Batches != 1 {
		t.Errorf("job after refused calls = %+v; want unchanged", j)
	}
}

func TestJobData(t *testing.T) {
	e := newEmulator(t, Config{})
	id := createJob(t, e, "k")
	body := "{\"data\": [ {\"email_address\" : \"a@b\",\n \"n\": 1.50} ,{\"crm_id\":\"x\\u0041\"} ]}"
	a := mustCall(t, e, 200, "POST", jobPath(id)+"/job_data", "k", body)
	if string(a.body) != `{"data":{"records":2}}` {
		t.Errorf("job_data = %s; want {\"data\":{\"records\":2}}", a.body)
	}
	recs := e.Records("k", id)
	want := []string{"{\"email_address\" : \"a@b\",\n \"n\": 1.50}", `{"crm_id":"x\u0041"}`}
	if len(recs) != 2 || string(recs[0]) != want[0] || string(recs[1]) != want[1] {
		t.Errorf("Records = %q; want %q", recs, want)
	}
	rows := data[[]wireRow](t, mustCall(t, e, 200, "GET", jobPath(id)+"/job_data", "k", ""))
	for i, r := range rows {
		if string(r.Record) != want[i] || r.Status != "pending" || string(r.Resource) != "null" || r.Error != nil {
			t.Errorf("row %d = %+v; want pending with record %s", i, r, want[i])
		}
	}
	if j := data[wireJob](t, mustCall(t, e, 200, "GET", jobPath(id), "k", "")); j.Total != 2 || j.State != "open" {
		t.Errorf("job = %+v; want total 2 while open", j)
	}

	// Refused uploads store nothing.
	for _, bad := range []string{`{"data":[{"a":1},3]}`, `{"data":[]}`, `{}`, `{"data":[{"a":1}`, `[]`} {
		a := call(t, e, "POST", jobPath(id)+"/job_data", "k", bad)
		if a.code != 400 && a.code != 422 {
			t.Errorf("job_data %s = %d; want 400 or 422", bad, a.code)
		}
	}
	if n := len(e.Records("k", id)); n != 2 {
		t.Errorf("records after refused uploads = %d; want 2", n)
	}
}

func TestJobDataIDsAreGlobal(t *testing.T) {
	e := newEmulator(t, Config{Teams: map[string]string{"a": "A", "b": "B"}})
	j1, j2 := createJob(t, e, "a"), createJob(t, e, "b")
	upload(t, e, "a", j1, `{"id":1}`, `{"id":2}`)
	upload(t, e, "b", j2, `{"id":3}`)
	upload(t, e, "a", j1, `{"id":4}`)
	var ids []int64
	for _, r := range data[[]wireRow](t, mustCall(t, e, 200, "GET", jobPath(j1)+"/job_data", "a", "")) {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []int64{1, 2, 4}) {
		t.Errorf("job %d ids = %v; want [1 2 4]", j1, ids)
	}
	if j2 != 2 {
		t.Errorf("second job id = %d; want 2", j2)
	}
	// Another team's job is not found.
	for _, path := range []string{jobPath(j1), jobPath(j1) + "/job_data", jobPath(j1) + "/results"} {
		if a := call(t, e, "GET", path, "b", ""); a.code != 404 || string(a.body) != `{"error":"bulk job not found"}` {
			t.Errorf("GET %s as another team = %d %s; want 404", path, a.code, a.body)
		}
	}
}

func TestRouting(t *testing.T) {
	e := newEmulator(t, Config{APIKeys: []string{"good"}})
	id := createJob(t, e, "good")
	tests := []struct {
		method, path, key string
		code              int
		allow             string
	}{
		{"GET", "/v2/bulk_jobs", "", 401, ""},
		{"GET", "/v2/bulk_jobs", "bad", 401, ""},
		{"GET", "/nope", "", 401, ""},
		{"GET", "/v2/bulk_jobs", "good", 200, ""},
		{"GET", "/v2/bulk_jobs/", "good", 404, ""},
		{"GET", "/v2/bulk_jobs.json", "good", 404, ""},
		{"GET", jobPath(id) + "/", "good", 404, ""},
		{"GET", "/v2/bulk_jobs/999", "good", 404, ""},
		{"GET", "/v2/bulk_jobs/0", "good", 404, ""},
		{"GET", "/v2/bulk_jobs/-1", "good", 404, ""},
		{"GET", "/v2/bulk_jobs/01", "good", 404, ""},
		{"GET", "/v2/bulk_jobs/abc", "good", 404, ""},
		{"GET", "/v2/bulk_jobs/99999999999999999999", "good", 404, ""},
		{"GET", jobPath(id) + "/other", "good", 404, ""},
		{"GET", jobPath(id) + "/job_data/1", "good", 404, ""},
		{"POST", "/v2/bulk_jobs/999/job_data", "good", 404, ""},
		{"PUT", "/v2/bulk_jobs/999", "good", 404, ""},
		{"GET", "/v2/bulk_jobs/999/results", "good", 404, ""},
		{"DELETE", jobPath(id), "good", 405, "GET, PUT, PATCH"},
		{"PUT", "/v2/bulk_jobs", "good", 405, "GET, POST"},
		{"PUT", jobPath(id) + "/job_data", "good", 405, "GET, POST"},
		{"POST", jobPath(id) + "/results", "good", 405, "GET"},
		{"HEAD", "/v2/bulk_jobs", "good", 405, "GET, POST"},
	}
	for _, tt := range tests {
		a := call(t, e, tt.method, tt.path, tt.key, "")
		if a.code != tt.code || a.header.Get("Allow") != tt.allow {
			t.Errorf("%s %s (key %q) = %d Allow %q; want %d Allow %q", tt.method, tt.path, tt.key, a.code, a.header.Get("Allow"), tt.code, tt.allow)
		}
		if tt.method != "HEAD" && (!json.Valid(a.body) || (a.code >= 400 && !strings.HasPrefix(string(a.body), `{"error":`))) {
			t.Errorf("%s %s body = %s; want {\"error\": ...}", tt.method, tt.path, a.body)
		}
	}
}

func TestBearer(t *testing.T) {
	for h, want := range map[string]string{"Bearer k": "k", "bearer  k ": "k", "Basic k": "", "Bearer": "", "k": "", "Bearer ": ""} {
		if got := bearer(h); got != want {
			t.Errorf("bearer(%q) = %q; want %q", h, got, want)
		}
	}
}

// TestHeadersEverywhere checks Content-Type and the budget headers on
// every kind of answer.
func TestHeadersEverywhere(t *testing.T) {
	e := newEmulator(t, Config{APIKeys: []string{"k"}, RateLimit: 5, MaxBodyBytes: 100})
	id := createJob(t, e, "k") // 1 spent
	calls := []struct {
		method, path, key, body string
		code                    int
		cost, remaining         string
	}{
		{"GET", "/v2/bulk_jobs", "", "", 401, "0", "5"},
		{"GET", jobPath(id), "k", "", 200, "1", "3"},
		{"GET", "/x", "k", "", 404, "1", "2"},
		{"POST", "/v2/bulk_jobs", "k", `{}`, 422, "1", "1"},
		{"POST", "/v2/bulk_jobs", "k", strings.Repeat(" ", 200), 413, "1", "0"},
		{"GET", jobPath(id), "k", "", 429, "0", "0"},
	}
	for _, c := range calls {
		a := call(t, e, c.method, c.path, c.key, c.body)
		if a.code != c.code {
			t.Errorf("%s %s = %d %s; want %d", c.method, c.path, a.code, a.body, c.code)
		}
		if got := a.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
			t.Errorf("%d: Content-Type = %q", a.code, got)
		}
		if got := a.header.Get("X-Ratelimit-Endpoint-Cost"); got != c.cost {
			t.Errorf("%d: x-ratelimit-endpoint-cost = %q; want %q", a.code, got, c.cost)
		}
		if got := a.header.Get("X-Ratelimit-Remaining-Minute"); got != c.remaining {
			t.Errorf("%d: x-ratelimit-remaining-minute = %q; want %q", a.code, got, c.remaining)
		}
		if !json.Valid(a.body) {
			t.Errorf("%d: body %q is not JSON", a.code, a.body)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEmulator(t, Config{MaxBodyBytes: 64})
	id := createJob(t, e, "k")
	big := `{"data":[{"email_address":"` + strings.Repeat("x", 100) + `"}]}`
	if a := call(t, e, "POST", jobPath(id)+"/job_data", "k", big); a.code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized job_data = %d %s; want 413", a.code, a.body)
	}
	// Without Content-Length the limit holds too.
	req := newRequest("POST", jobPath(id)+"/job_data", "k", big)
	req.ContentLength = -1
	if a := serve(e, req); a.code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized chunked job_data = %d %s; want 413", a.code, a.body)
	}
	if n := len(e.Records("k", id)); n != 0 {
		t.Errorf("records = %d; want 0", n)
	}
}

// waitState polls the inspection API until the job reaches state.
func waitState(tb testing.TB, e *Emulator, key string, id int64, state string) Job {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		j, ok := e.Job(key, id)
		if ok && j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			tb.Fatalf("job %d = %+v; want state %s", id, j, state)
		}
		time.Sleep(time.Millisecond)
	}
}
