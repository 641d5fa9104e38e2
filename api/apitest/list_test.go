package apitest

import (
	"slices"
	"strings"
	"testing"
)

func TestListRows(t *testing.T) {
	e := newEmulator(t, Config{ProcessRate: NoLimit})
	id := createJob(t, e, "k")
	var recs []string
	for i := range 60 {
		if i%3 == 0 {
			recs = append(recs, `{"first_name":"no key"}`)
		} else {
			recs = append(recs, `{"email_address":"p`+itoa(int64(i))+`@x"}`)
		}
	}
	upload(t, e, "k", id, recs...)
	if rows := data[[]wireRow](t, mustCall(t, e, 200, "GET", jobPath(id)+"/results", "k", "")); len(rows) != 0 {
		t.Errorf("results while open = %d rows; want 0", len(rows))
	}
	mustCall(t, e, 200, "PUT", jobPath(id), "k", `{"ready_to_execute":true}`)
	waitState(t, e, "k", id, "done")

	count := func(query string) (n int, first, last int64) {
		rows := data[[]wireRow](t, mustCall(t, e, 200, "GET", jobPath(id)+"/results"+query, "k", ""))
		if len(rows) == 0 {
			return 0, 0, 0
		}
		return len(rows), rows[0].ID, rows[len(rows)-1].ID
	}
	tests := []struct {
		query        string
		n            int
		first, final int64
	}{
		{"", 25, 1, 25},
		{"?per_page=100", 60, 1, 60},
		{"?per_page=1", 1, 1, 1},
		{"?id[gt]=50", 10, 51, 60},
		{"?id%5Bgt%5D=59", 1, 60, 60},
		{"?id[gt]=60", 0, 0, 0},
		{"?id[gt]=-5&per_page=2", 2, 1, 2},
		{"?status=error&per_page=100", 20, 1, 58},
		{"?status=success,error&per_page=100", 60, 1, 60},
		{"?status[]=success&status[]=error&per_page=100", 60, 1, 60},
		{"?status[]=pending&status=retrying", 0, 0, 0},
		{"?status=&per_page=3", 3, 1, 3},
		{"?status=error&id[gt]=10&per_page=2", 2, 13, 16},
		{"?unknown=1&id=3", 25, 1, 25},
	}
	for _, tt := range tests {
		n, first, last := count(tt.query)
		if n != tt.n || first != tt.first || last != tt.final {
			t.Errorf("results%s = %d rows %d..%d; want %d rows %d..%d", tt.query, n, first, last, tt.n, tt.first, tt.final)
		}
	}
	for _, q := range []string{"?per_page=0", "?per_page=101", "?per_page=x", "?per_page=", "?id[gt]=x", "?status=done", "?status[]=ok"} {
		for _, path := range []string{"/results", "/job_data"} {
			if a := call(t, e, "GET", jobPath(id)+path+q, "k", ""); a.code != 422 || !strings.HasPrefix(string(a.body), `{"errors":{"`) {
				t.Errorf("GET %s%s = %d %s; want 422", path, q, a.code, a.body)
			}
		}
	}
	if a := call(t, e, "GET", jobPath(id)+"/job_data?a=%zz", "k", ""); a.code != 400 {
		t.Errorf("malformed query = %d %s; want 400", a.code, a.body)
	}
}

func TestListJobs(t *testing.T) {
	e := newEmulator(t, Config{ProcessRate: NoLimit, Teams: map[string]string{"a": "A", "a2": "A", "b": "B"}})
	var ids []int64
	for range 4 {
		ids = append(ids, createJob(t, e, "a"))
	}
	createJob(t, e, "b")
	mustCall(t, e, 200, "PUT", jobPath(ids[1]), "a2", `{"ready_to_execute":true}`)
	waitState(t, e, "a", ids[1], "done")
	mustCall(t, e, 200, "PUT", jobPath(ids[3]), "a", `{"name":"x"}`)
	list := func(query string) []int64 {
		var got []int64
		for _, j := range data[[]wireJob](t, mustCall(t, e, 200, "GET", "/v2/bulk_jobs"+query, "a2", "")) {
			got = append(got, j.ID)
		}
		return got
	}
	tests := []struct {
		query string
		want  []int64
	}{
		{"", ids},
		{"?per_page=2", ids[:2]},
		{"?id[gt]=" + itoa(ids[1]), ids[2:]},
		{"?state=done", ids[1:2]},
		{"?state=open", []int64{ids[0], ids[2], ids[3]}},
		{"?state=open,done&per_page=2", ids[:2]},
		{"?state[]=executing", nil},
	}
	for _, tt := range tests {
		if got := list(tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("GET /v2/bulk_jobs%s = %v; want %v", tt.query, got, tt.want)
		}
	}
	for _, q := range []string{"?state=pending", "?per_page=1000", "?state[]=open&state[]=bad"} {
		if a := call(t, e, "GET", "/v2/bulk_jobs"+q, "a", ""); a.code != 422 {
			t.Errorf("GET /v2/bulk_jobs%s = %d; want 422", q, a.code)
		}
	}
}

func TestSeekExtremes(t *testing.T) {
	e := newEmulator(t, Config{})
	id := createJob(t, e, "k")
	upload(t, e, "k", id, `{"a":1}`, `{"a":2}`)
	upload(t, e, "k", id, `{"a":3}`)
	for q, want := range map[string]int{
		"-9223372036854775808": 3, "9223372036854775807": 0, "0": 3, "1": 2, "2": 1, "3": 0, "-1": 3,
	} {
		rows := data[[]wireRow](t, mustCall(t, e, 200, "GET", jobPath(id)+"/job_data?id[gt]="+q, "k", ""))
		if len(rows) != want {
			t.Errorf("id[gt]=%s: %d rows; want %d", q, len(rows), want)
		}
	}
}
