package apitest

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestServerCloseLeavesNoGoroutines runs a server through jobs, executor
// work and every fault kind, closes it, and checks nothing is left.
func TestServerCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := NewServer(Config{ProcessRate: 500, Faults: Faults{StallDuration: 10 * time.Millisecond}})
	id := createJob(t, srv, "k")
	url := srv.URL + jobPath(id) + "/job_data"
	for k := Fault(1); k < numFaults; k++ {
		srv.FailNext(k, 1)
		_, _ = post(t, srv.Client(), url, "k", `{"data":[{"email_address":"a"}]}`)
	}
	mustCall(t, srv, 200, "PUT", jobPath(id), "k", `{"ready_to_execute":true}`)
	srv.Close()
	srv.Close() // idempotent
}

func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	e := newEmulator(t, Config{Logger: logger, APIKeys: []string{"secret-key"}})
	id := createJob(t, e, "secret-key")
	upload(t, e, "secret-key", id, `{"a":1}`)
	call(t, e, "GET", "/v2/bulk_jobs", "wrong-key", "")
	out := buf.String()
	if strings.Contains(out, "secret-key") || strings.Contains(out, "wrong-key") {
		t.Errorf("log shows an API key:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("log has %d lines; want 3:\n%s", len(lines), out)
	}
	for _, want := range []string{"method=POST", "path=/v2/bulk_jobs/1/job_data", "status=200", "team=team-1", "remaining=598", "records=1", "duration="} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("log line %q lacks %q", lines[1], want)
		}
	}
	if !strings.Contains(lines[2], "status=401") || strings.Contains(lines[2], "team=") {
		t.Errorf("401 log line = %q", lines[2])
	}
}
