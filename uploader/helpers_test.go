package uploader

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testKey = "ak_test"

// testEnv is an emulator, a client of it and an open job.
type testEnv struct {
	srv    *apitest.Server
	client *api.Client
	job    int64
}

// newEnv starts an emulator with cfg and opens a job. timeout bounds each
// HTTP attempt (0: 10 s); b paces the client (nil: unlimited).
func newEnv(t testing.TB, cfg apitest.Config, timeout time.Duration, b *budget.Budget) *testEnv {
	t.Helper()
	if cfg.ProcessRate == 0 {
		cfg.ProcessRate = apitest.NoLimit
	}
	srv := apitest.NewServer(cfg)
	t.Cleanup(srv.Close)
	client := newClient(t, srv, timeout, b)
	job, _, err := client.CreateJob(context.Background(), api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{srv: srv, client: client, job: job.ID}
}

func newClient(t testing.TB, srv *apitest.Server, timeout time.Duration, b *budget.Budget) *api.Client {
	t.Helper()
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	tr := api.DefaultTransport()
	t.Cleanup(tr.CloseIdleConnections)
	cfg := api.Config{APIKey: testKey, BaseURL: srv.URL, HTTPClient: &http.Client{Timeout: timeout, Transport: tr}}
	if b != nil {
		cfg.Budget = b
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fastRetry retries quickly, for tests.
var fastRetry = budget.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: time.Minute}

// makeRecords returns n distinct person records; tag makes them distinct
// across calls.
func makeRecords(n int, tag string) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = fmt.Appendf(nil, `{"email_address":"%s-%d@example.test","first_name":"P%d","upsert_key":"email_address"}`, tag, i, i)
	}
	return recs
}

// sliceSource yields batches of size records, numbered from first.
type sliceSource struct {
	recs  [][]byte
	size  int
	first int
	i     int
	reads int
}

func newSource(recs [][]byte, size int) *sliceSource { return &sliceSource{recs: recs, size: size} }

func (s *sliceSource) Next() (Batch, error) {
	if s.i >= len(s.recs) {
		return Batch{}, io.EOF
	}
	end := min(s.i+s.size, len(s.recs))
	body := []byte(`{"data":[`)
	body = append(body, bytes.Join(s.recs[s.i:end], []byte(","))...)
	body = append(body, "]}"...)
	b := Batch{Seq: s.first + s.reads, Records: end - s.i, Body: body, FirstLine: s.i + 1, LastLine: end}
	s.i = end
	s.reads++
	return b, nil
}

// checkOnce fails t unless job holds every record of want exactly once
// and nothing else.
func checkOnce(t testing.TB, srv *apitest.Server, job int64, want [][]byte) {
	t.Helper()
	got := srv.Records(testKey, job)
	count := map[string]int{}
	for _, r := range got {
		count[string(r)]++
	}
	missing, dup := 0, 0
	for _, r := range want {
		switch n := count[string(r)]; {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
		delete(count, string(r))
	}
	if missing > 0 || dup > 0 || len(count) > 0 || len(got) != len(want) {
		t.Fatalf("job %d holds %d records for %d sent: %d missing, %d stored more than once, %d unknown",
			job, len(got), len(want), missing, dup, len(count))
	}
}

// countRecords returns how many times each record occurs in recs.
func countRecords(recs [][]byte) map[string]int {
	n := make(map[string]int, len(recs))
	for _, r := range recs {
		n[string(r)]++
	}
	return n
}
