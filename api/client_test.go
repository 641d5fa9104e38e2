package api

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{APIKey: "ak_test", BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewClientValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; empty = no error
	}{
		{"no key", Config{}, "no API key"},
		{"blank key", Config{APIKey: "  "}, "no API key"},
		{"newline in key", Config{APIKey: "a\nb"}, "line break"},
		{"bad scheme", Config{APIKey: "k", BaseURL: "ftp://x"}, "not an http(s) URL"},
		{"no host", Config{APIKey: "k", BaseURL: "http://"}, "not an http(s) URL"},
		{"query", Config{APIKey: "k", BaseURL: "http://h/?a=1"}, "query"},
		{"default", Config{APIKey: "k"}, ""},
		{"prefix kept", Config{APIKey: "k", BaseURL: "http://h:1/p/"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewClient = %v; want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewClient = %v, %v; want error containing %q", c, err, tt.want)
			}
			if strings.Contains(err.Error(), "ak_") {
				t.Errorf("error %q leaks the key", err)
			}
		})
	}
	c, _ := NewClient(Config{APIKey: "k", BaseURL: "http://h:1/p/"})
	if got := c.BaseURL(); got != "http://h:1/p" {
		t.Errorf("BaseURL() = %q; want %q", got, "http://h:1/p")
	}
	c, _ = NewClient(Config{APIKey: "k"})
	if got := c.BaseURL(); got != DefaultBaseURL {
		t.Errorf("BaseURL() = %q; want %q", got, DefaultBaseURL)
	}
}

func TestRequestShape(t *testing.T) {
	var got *http.Request
	var body string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("x-ratelimit-endpoint-cost", "1")
		w.Header().Set("x-ratelimit-remaining-minute", "599")
		io.WriteString(w, `{"data":{"records":2}}`)
	})
	n, resp, err := c.CreateJobData(context.Background(), 211, []byte(`{"data":[{"a":1},{"b":2}]}`))
	if err != nil || n != 2 {
		t.Fatalf("CreateJobData = %d, %v; want 2, nil", n, err)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/v2/bulk_jobs/211/job_data" {
		t.Errorf("request = %s %s; want POST /v2/bulk_jobs/211/job_data", got.Method, got.URL.Path)
	}
	if h := got.Header.Get("Authorization"); h != "Bearer ak_test" {
		t.Errorf("Authorization = %q; want %q", h, "Bearer ak_test")
	}
	if h := got.Header.Get("Content-Type"); h != "application/json" {
		t.Errorf("Content-Type = %q", h)
	}
	if body != `{"data":[{"a":1},{"b":2}]}` {
		t.Errorf("body = %q; want it sent as given", body)
	}
	want := RateLimit{Cost: 1, Remaining: 599, Known: true}
	if resp.RateLimit != want || resp.StatusCode != 200 {
		t.Errorf("Response = %+v; want status 200 and %+v", resp, want)
	}
}

func TestListQuery(t *testing.T) {
	var raw string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		raw = r.URL.RawQuery
		io.WriteString(w, `{"data":[{"id":7,"status":"error","record":{"x":1},"resource":null,"error":"boom"}]}`)
	})
	rows, _, err := c.ListJobData(context.Background(), 3, ListOptions{After: 42, PerPage: 100, Statuses: []Status{StatusSuccess, StatusError}})
	if err != nil {
		t.Fatal(err)
	}
	if raw != "id[gt]=42&per_page=100&status=success%2Cerror" {
		t.Errorf("query = %q", raw)
	}
	if len(rows) != 1 || rows[0].ID != 7 || rows[0].Status != StatusError || *rows[0].Error != "boom" || string(rows[0].Record) != `{"x":1}` {
		t.Errorf("rows = %+v", rows)
	}
}

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name                                         string
		status                                       int
		body                                         string
		header                                       map[string]string
		wantMsg                                      string
		wantField                                    string
		retryable, limited, ambiguous, notOpen, auth bool
		retryAfter                                   time.Duration
	}{
		{name: "401", status: 401, body: `{"error":"Invalid API key"}`, wantMsg: "Invalid API key", auth: true},
		{name: "404", status: 404, body: `{"error":"Not found"}`, wantMsg: "Not found"},
		{name: "422 state", status: 422, body: `{"errors":{"state":["job is not open"]}}`, wantField: "state", notOpen: true},
		{name: "422 data", status: 422, body: `{"errors":{"data":["must have at most 5000 items"]}}`, wantField: "data"},
		{name: "429", status: 429, body: `{"error":"Rate limit exceeded"}`, header: map[string]string{"Retry-After": "7"},
			wantMsg: "Rate limit exceeded", retryable: true, limited: true, retryAfter: 7 * time.Second},
		{name: "500", status: 500, body: `oops`, retryable: true, ambiguous: true},
		{name: "503 json", status: 503, body: `{"error":"down"}`, wantMsg: "down", retryable: true, ambiguous: true},
		{name: "422 odd shape", status: 422, body: `{"error":"bad","errors":[{"attribute":"x"}]}`, wantMsg: "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("x-ratelimit-endpoint-cost", "1")
				w.Header().Set("x-ratelimit-remaining-minute", "0")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			_, resp, err := c.CreateJobData(context.Background(), 1, []byte(`{"data":[{}]}`))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v; want *Error", err)
			}
			if e.StatusCode != tt.status || resp.StatusCode != tt.status {
				t.Errorf("StatusCode = %d/%d; want %d", e.StatusCode, resp.StatusCode, tt.status)
			}
			if e.Message != tt.wantMsg {
				t.Errorf("Message = %q; want %q", e.Message, tt.wantMsg)
			}
			if _, ok := e.Fields[tt.wantField]; tt.wantField != "" && !ok {
				t.Errorf("Fields = %v; want key %q", e.Fields, tt.wantField)
			}
			if !e.RateLimit.Known || e.RateLimit.Remaining != 0 {
				t.Errorf("RateLimit = %+v; want known, remaining 0", e.RateLimit)
			}
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v; want %v", e.RetryAfter, tt.retryAfter)
			}
			for _, c := range []struct {
				name string
				got  bool
				want bool
			}{
				{"IsRetryable", IsRetryable(err), tt.retryable},
				{"IsRateLimited", IsRateLimited(err), tt.limited},
				{"IsAmbiguous", IsAmbiguous(err), tt.ambiguous},
				{"IsJobNotOpen", IsJobNotOpen(err), tt.notOpen},
				{"IsUnauthorized", IsUnauthorized(err), tt.auth},
			} {
				if c.got != c.want {
					t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
				}
			}
			if strings.Contains(err.Error(), "ak_test") {
				t.Errorf("error %q leaks the key", err)
			}
		})
	}
}

// TestAmbiguity checks Sent: a failure before the request went out is safe to
// repeat; one after the body was written may have been stored.
func TestAmbiguity(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c, _ := NewClient(Config{APIKey: "k", BaseURL: "http://" + addr})
		_, _, err = c.CreateJobData(context.Background(), 1, []byte(`{"data":[{}]}`))
		if !IsRetryable(err) || IsAmbiguous(err) {
			t.Errorf("refused: IsRetryable=%v IsAmbiguous=%v (%v); want true, false", IsRetryable(err), IsAmbiguous(err), err)
		}
	})
	t.Run("reset after reading the body", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		})
		_, _, err := c.CreateJobData(context.Background(), 1, []byte(`{"data":[{}]}`))
		if !IsRetryable(err) || !IsAmbiguous(err) {
			t.Errorf("reset: IsRetryable=%v IsAmbiguous=%v (%v); want true, true", IsRetryable(err), IsAmbiguous(err), err)
		}
	})
	t.Run("timeout after sending", func(t *testing.T) {
		release := make(chan struct{})
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			<-release
		})
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, _, err := c.CreateJobData(ctx, 1, []byte(`{"data":[{}]}`))
		if !IsAmbiguous(err) {
			t.Errorf("timeout: IsAmbiguous=false (%v); want true", err)
		}
	})
	t.Run("cut 2xx body", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, `{"data":{"rec`)
		})
		_, _, err := c.CreateJobData(context.Background(), 1, []byte(`{"data":[{}]}`))
		if !IsAmbiguous(err) {
			t.Errorf("cut body: IsAmbiguous=false (%v); want true", err)
		}
	})
}

type countingBudget struct {
	waits, observed atomic.Int64
	last            atomic.Value
}

func (b *countingBudget) Wait(ctx context.Context) error { b.waits.Add(1); return ctx.Err() }
func (b *countingBudget) Observe(r Response)             { b.observed.Add(1); b.last.Store(r) }

func TestBudgetHooks(t *testing.T) {
	b := &countingBudget{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-ratelimit-endpoint-cost", "1")
		w.Header().Set("x-ratelimit-remaining-minute", "0")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	c, _ := NewClient(Config{APIKey: "k", BaseURL: srv.URL, Budget: b})
	_, _, err := c.GetJob(context.Background(), 1)
	if !IsRateLimited(err) {
		t.Fatalf("GetJob = %v; want 429", err)
	}
	if b.waits.Load() != 1 || b.observed.Load() != 1 {
		t.Errorf("waits=%d observed=%d; want 1, 1", b.waits.Load(), b.observed.Load())
	}
	if r := b.last.Load().(Response); r.StatusCode != 429 || !r.RateLimit.Known {
		t.Errorf("observed %+v; want the 429 with its headers", r)
	}
	if c.Calls() != 1 || c.RateLimited() != 1 {
		t.Errorf("Calls=%d RateLimited=%d; want 1, 1", c.Calls(), c.RateLimited())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = c.GetJob(ctx, 1)
	if !errors.Is(err, context.Canceled) || IsRetryable(err) {
		t.Errorf("canceled GetJob = %v (retryable %v); want context.Canceled, not retryable", err, IsRetryable(err))
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"x", 0},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

// TestCertificateErrorIsFinal: a server whose certificate does not verify
// is not retried; verification is never turned off.
func TestCertificateErrorIsFinal(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake fails on purpose
	srv.StartTLS()
	defer srv.Close()
	c, _ := NewClient(Config{APIKey: "k", BaseURL: srv.URL}) // the default client, not srv.Client()
	_, _, err := c.GetJob(context.Background(), 1)
	if err == nil || IsRetryable(err) || IsAmbiguous(err) {
		t.Errorf("self-signed server: err %v, retryable %v; want a final certificate error", err, IsRetryable(err))
	}
}

// TestSuccessEnvelope: a 2xx answer is read through its {"data": ...}
// envelope; one without "data", or not JSON, is an error that says the
// call took effect (Sent) but its answer could not be read.
func TestSuccessEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    int64 // the job id decoded; -1 for an error
		wantErr string
	}{
		{"data", `{"data":{"id":7,"type":"person/upsert"}}`, 7, ""},
		{"data and more", `{"meta":{},"data":{"id":8},"x":[1]}`, 8, ""},
		{"no data", `{"id":7}`, -1, `no "data" member`},
		{"empty object", `{}`, -1, `no "data" member`},
		{"not JSON", `<html>`, -1, "decoding the 200 response"},
		{"wrong type", `{"data":[1]}`, -1, "decoding the 200 response"},
		{"truncated", `{"data":{"id":7`, -1, "decoding the 200 response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, tt.body)
			})
			job, _, err := c.GetJob(context.Background(), 7)
			if tt.want >= 0 {
				if err != nil || job.ID != tt.want {
					t.Fatalf("GetJob = %+v, %v; want id %d", job, err, tt.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !e.Sent || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("GetJob err = %v; want a sent *Error saying %q", err, tt.wantErr)
			}
		})
	}
}

// TestCallCounters: Calls counts attempts, Answered those that got an
// HTTP response of any status, RateLimited the 429s.
func TestCallCounters(t *testing.T) {
	status := 200
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, `{"data":{"id":1}}`)
	})
	ctx := context.Background()
	c.GetJob(ctx, 1)
	status = 429
	c.GetJob(ctx, 1)
	status = 503
	c.GetJob(ctx, 1)
	dead, err := NewClient(Config{APIKey: "ak_test", BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dead.GetJob(ctx, 1); err == nil {
		t.Fatal("GetJob on a closed port succeeded")
	}
	for _, tt := range []struct {
		name      string
		got, want int64
	}{
		{"Calls", c.Calls(), 3}, {"Answered", c.Answered(), 3}, {"RateLimited", c.RateLimited(), 1},
		{"unreachable Calls", dead.Calls(), 1}, {"unreachable Answered", dead.Answered(), 0},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %d; want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{EnvAPIKey: "from-env", EnvBaseURL: "http://127.0.0.1:9"}
	c := Config{APIKey: "given"}
	c.FromEnv(func(k string) string { return env[k] })
	if c.APIKey != "given" || c.BaseURL != "http://127.0.0.1:9" {
		t.Errorf("FromEnv: key %q, base %q; want the given key kept and the base from the environment", c.APIKey, c.BaseURL)
	}
}

func TestCleartext(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want bool
	}{
		{"https://api.salesloft.com", false},
		{"http://127.0.0.1:8080", false},
		{"http://localhost:8080/proxy", false},
		{"http://[::1]:8080", false},
		{"http://10.0.0.5:8080", true},
		{"http://0.0.0.0:8080", true},
		{"http://[::]:8080", true},
		{"http://emulator.internal", true},
		{"", false},
	} {
		if got := Cleartext(tt.url); got != tt.want {
			t.Errorf("Cleartext(%q) = %v; want %v", tt.url, got, tt.want)
		}
	}
}
