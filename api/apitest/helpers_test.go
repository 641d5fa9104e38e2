package apitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// newEmulator returns an Emulator closed when the test ends.
func newEmulator(tb testing.TB, cfg Config) *Emulator {
	tb.Helper()
	e, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(e.Close)
	return e
}

// answer is a recorded response.
type answer struct {
	code   int
	header http.Header
	body   []byte
}

// call sends one request straight to h (no network) with key as Bearer
// token ("" for none).
func call(tb testing.TB, h http.Handler, method, target, key, body string) answer {
	tb.Helper()
	return serve(h, newRequest(method, target, key, body))
}

func newRequest(method, target, key, body string) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func serve(h http.Handler, req *http.Request) answer {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return answer{code: res.StatusCode, header: res.Header, body: b}
}

// mustCall is call that fails the test unless the status is want.
func mustCall(tb testing.TB, h http.Handler, want int, method, target, key, body string) answer {
	tb.Helper()
	a := call(tb, h, method, target, key, body)
	if a.code != want {
		tb.Fatalf("%s %s = %d %s; want %d", method, target, a.code, a.body, want)
	}
	return a
}

// wireJob is a job as the wire shows it.
type wireJob struct {
	ID             int64   `json:"id"`
	Name           *string `json:"name"`
	Type           string  `json:"type"`
	State          string  `json:"state"`
	ReadyToExecute bool    `json:"ready_to_execute"`
	Total          int64   `json:"total"`
	Processed      int64   `json:"processed"`
	Errors         int64   `json:"errors"`
	Scopes         []any   `json:"scopes"`
	CreatedAt      *string `json:"created_at"`
	UpdatedAt      *string `json:"updated_at"`
	MarkedReadyAt  *string `json:"marked_ready_at"`
	StartedAt      *string `json:"started_at"`
	FinishedAt     *string `json:"finished_at"`
}

// wireRow is a job-data row as the wire shows it.
type wireRow struct {
	ID       int64           `json:"id"`
	Status   string          `json:"status"`
	Record   json.RawMessage `json:"record"`
	Resource json.RawMessage `json:"resource"`
	Error    *string         `json:"error"`
}

// data decodes {"data": v} strictly.
func data[T any](tb testing.TB, a answer) T {
	tb.Helper()
	var env struct{ Data T }
	dec := json.NewDecoder(strings.NewReader(string(a.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		tb.Fatalf("decode %s: %v", a.body, err)
	}
	return env.Data
}

// createJob creates a person/upsert job and returns its id.
func createJob(tb testing.TB, h http.Handler, key string) int64 {
	tb.Helper()
	return data[wireJob](tb, mustCall(tb, h, 200, "POST", "/v2/bulk_jobs", key, `{"type":"person/upsert"}`)).ID
}

// upload posts records (JSON objects) to a job.
func upload(tb testing.TB, h http.Handler, key string, id int64, records ...string) {
	tb.Helper()
	mustCall(tb, h, 200, "POST", jobPath(id)+"/job_data", key, `{"data":[`+strings.Join(records, ",")+`]}`)
}

func jobPath(id int64) string {
	return "/v2/bulk_jobs/" + itoa(id)
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
