package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bulkload/bulkload/load"
)

// deadURL returns a loopback URL where nothing listens: connection refused.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// TestUnreachableServerFailsFast: a base URL where nothing listens is a
// typo or no network, not a passing fault: run gives up after a few
// attempts, not two minutes, and says what to check.
func TestUnreachableServerFailsFast(t *testing.T) {
	t.Parallel()
	base := deadURL(t)
	in := writePeople(t, 10, nil)
	r := cli(t, context.Background(), nil, "run", "--type", "person/upsert", "--base-url", base, "--results-dir", t.TempDir(), "--json", in)
	if r.code != exitFailed {
		t.Fatalf("exit %d; want 1\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if s.APICalls != load.FirstContactAttempts || s.Retries != load.FirstContactAttempts-1 {
		t.Errorf("api_calls %d, retries %d; want %d attempts", s.APICalls, s.Retries, load.FirstContactAttempts)
	}
	if !strings.Contains(s.Error, base+" never answered: check --base-url") {
		t.Errorf("error %q; want it to name the URL and what to check", s.Error)
	}
}

// TestOutageAfterFirstContactIsRidden: once the server has answered, a
// failure to reach it is an outage to wait out: marking the job ready
// survives more dropped connections than a first contact would.
func TestOutageAfterFirstContactIsRidden(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var dropped atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && dropped.Add(1) <= load.FirstContactAttempts {
			// Drop the connection without an answer, before the job sees it.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	in := writePeople(t, 10, nil)
	r := cli(t, context.Background(), nil, "run", "--type", "person/upsert", "--base-url", front.URL, "--results-dir", t.TempDir(), "--json", in)
	if r.code != exitOK {
		t.Fatalf("exit %d; want 0\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if s.Retries < load.FirstContactAttempts || s.Succeeded != 10 {
		t.Errorf("summary = %+v; want %d retries of the PUT, then 10 succeeded", s, load.FirstContactAttempts)
	}
	storedOnce(t, srv, s.JobID, in)
}

// TestResultsChecksTheJobFirst: results of a job that does not exist, or
// on a server that never answers, fails before creating any results file.
func TestResultsChecksTheJobFirst(t *testing.T) {
	t.Parallel()
	dead := deadURL(t)
	srv := emulator(t, apitestConfig())
	tests := []struct {
		name, base, want string
	}{
		{"unknown job", srv.URL, "404"},
		{"unreachable", dead, "never answered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			r := cli(t, context.Background(), nil, "results", "42", "--base-url", tt.base, "--results-dir", dir)
			if r.code != exitFailed || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("results dir holds %d files; want none", len(entries))
			}
		})
	}
}
