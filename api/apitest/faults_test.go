package apitest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// post sends a job_data POST over the network.
func post(tb testing.TB, c *http.Client, url, key, body string) (int, error) {
	tb.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

func isTransportError(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func TestFaultsOnJobData(t *testing.T) {
	tests := []struct {
		kind   Fault
		stored bool
		reset  bool
	}{
		{FaultErrorBeforeStore, false, false},
		{FaultResetBeforeStore, false, true},
		{FaultErrorAfterStore, true, false},
		{FaultResetAfterStore, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			srv := NewServer(Config{})
			defer srv.Close()
			id := createJob(t, srv, "k")
			url := srv.URL + jobPath(id) + "/job_data"
			body := `{"data":[{"email_address":"a"},{"email_address":"b"}]}`
			srv.FailNext(tt.kind, 1)
			code, err := post(t, srv.Client(), url, "k", body)
			switch {
			case tt.reset && (err == nil || !isTransportError(err)):
				t.Errorf("POST = %d, %v; want a transport error", code, err)
			case !tt.reset && (err != nil || code < 500):
				t.Errorf("POST = %d, %v; want a 5xx", code, err)
			}
			want := 0
			if tt.stored {
				want = 2
			}
			if got := len(srv.Records("k", id)); got != want {
				t.Errorf("records stored = %d; want %d", got, want)
			}
			if got := srv.Stats().Faults[tt.kind]; got != 1 {
				t.Errorf("Stats().Faults[%v] = %d; want 1", tt.kind, got)
			}
			// The fault was used up: the next upload succeeds.
			if code, err := post(t, srv.Client(), url, "k", body); code != 200 || err != nil {
				t.Errorf("next POST = %d, %v; want 200", code, err)
			}
			if got := len(srv.Records("k", id)); got != want+2 {
				t.Errorf("records after retry = %d; want %d", got, want+2)
			}
		})
	}
}

func TestStallAfterStore(t *testing.T) {
	srv := NewServer(Config{Faults: Faults{StallDuration: time.Hour}})
	defer srv.Close()
	id := createJob(t, srv, "k")
	srv.FailNext(FaultStallAfterStore, 1)
	c := &http.Client{Timeout: 100 * time.Millisecond, Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	_, err := post(t, c, srv.URL+jobPath(id)+"/job_data", "k", `{"data":[{"a":1}]}`)
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("POST = %v; want a client timeout", err)
	}
	if got := len(srv.Records("k", id)); got != 1 {
		t.Errorf("records stored = %d; want 1", got)
	}
}

func TestCloseReleasesStalledRequests(t *testing.T) {
	srv := NewServer(Config{Faults: Faults{StallDuration: time.Hour, Latency: time.Millisecond}})
	id := createJob(t, srv, "k")
	srv.FailNext(FaultStallAfterStore, 1)
	done := make(chan error, 1)
	go func() {
		_, err := post(t, srv.Client(), srv.URL+jobPath(id)+"/job_data", "k", `{"data":[{"a":1}]}`)
		done <- err
	}()
	for srv.Stats().Faults[FaultStallAfterStore] == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a stalled request", d)
	}
	<-done
	if a := call(t, srv.Emulator, "GET", "/v2/bulk_jobs", "k", ""); a.code != 503 {
		t.Errorf("after Close = %d; want 503", a.code)
	}
	if got := len(srv.Records("k", id)); got != 1 {
		t.Errorf("state after Close: %d records; want 1", got)
	}
}

func TestFaultsOnGet(t *testing.T) {
	e := newEmulator(t, Config{RateLimit: 10})
	id := createJob(t, e, "k")
	e.FailNext(FaultErrorOnGet, 1)
	if a := call(t, e, "GET", jobPath(id), "k", ""); a.code < 500 || a.header.Get("X-Ratelimit-Endpoint-Cost") != "1" {
		t.Errorf("GET with error fault = %d cost %s; want 5xx costing 1", a.code, a.header.Get("X-Ratelimit-Endpoint-Cost"))
	}
	e.FailNext(FaultRateLimitOnGet, 2)
	for range 2 {
		a := call(t, e, "GET", jobPath(id)+"/job_data", "k", "")
		if a.code != 429 || a.header.Get("X-Ratelimit-Remaining-Minute") != "0" || a.header.Get("X-Ratelimit-Endpoint-Cost") != "0" {
			t.Errorf("GET with 429 fault = %d %v", a.code, a.header)
		}
	}
	if tm, _ := e.Team("k"); tm.Used != 2 {
		t.Errorf("budget used = %d; want 2 (the injected 429s cost nothing)", tm.Used)
	}
	// GET faults never hit writes, and the write faults never hit GETs.
	e.FailNext(FaultErrorOnGet, 1)
	mustCall(t, e, 200, "POST", jobPath(id)+"/job_data", "k", `{"data":[{}]}`)
	e.FailNext(FaultErrorOnGet, 0)
	e.FailNext(FaultErrorAfterStore, 1)
	mustCall(t, e, 200, "GET", jobPath(id), "k", "")
	// Without a hijackable connection a reset becomes a 502.
	e.FailNext(FaultResetBeforeStore, 1)
	mustCall(t, e, 502, "POST", jobPath(id)+"/job_data", "k", `{"data":[{}]}`)
}

func TestFaultRates(t *testing.T) {
	e := newEmulator(t, Config{RateLimit: NoLimit, Seed: 3})
	id := createJob(t, e, "k")
	if err := e.SetFaults(Faults{ErrorAfterStore: 0.5}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for range 200 {
		a := call(t, e, "POST", jobPath(id)+"/job_data", "k", `{"data":[{}]}`)
		switch a.code {
		case 200:
		case 500, 502, 503:
			failed++
		default:
			t.Fatalf("POST = %d %s", a.code, a.body)
		}
	}
	if failed < 70 || failed > 130 {
		t.Errorf("%d of 200 failed; want about 100", failed)
	}
	if j, _ := e.Job("k", id); j.Total != 200 || j.Batches != 200 {
		t.Errorf("job = %+v; want all 200 batches stored despite the 5xx", j)
	}
	if got := e.Faults(); got.ErrorAfterStore != 0.5 {
		t.Errorf("Faults() = %+v", got)
	}
}

func TestLatency(t *testing.T) {
	e := newEmulator(t, Config{Faults: Faults{Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond}})
	start := time.Now()
	mustCall(t, e, 200, "GET", "/v2/bulk_jobs", "k", "")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("request took %v; want at least the 30ms latency", d)
	}
}
