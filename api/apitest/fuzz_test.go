package apitest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzHandler sends random requests to one emulator (its state grows
// across inputs, so later inputs meet jobs in every state) and checks that
// every answer is JSON with a sane status and the headers every response
// must carry. A panic fails the target.
func FuzzHandler(f *testing.F) {
	e, err := New(Config{
		ProcessRate: NoLimit, RateLimit: NoLimit, MaxBodyBytes: 1 << 16, OutOfOrder: true, ErrorRate: 0.1,
		Faults: Faults{ErrorBeforeStore: 0.05, ErrorAfterStore: 0.05, ResetAfterStore: 0.05, ErrorOnGet: 0.02, RateLimitOnGet: 0.02},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(e.Close)
	seeds := []struct {
		method, path uint8
		id           int64
		raw, query   string
		body         string
	}{
		{1, 0, 0, "", "", `{"type":"person/upsert","name":"n"}`},
		{1, 2, 1, "", "", `{"data":[{"email_address":"a","upsert_key":"email_address"},{"id":1}]}`},
		{2, 1, 1, "", "", `{"ready_to_execute":true}`},
		{0, 3, 1, "", "status=success,error&per_page=100&id[gt]=0", ""},
		{0, 2, 1, "", "status[]=pending&status[]=retrying", ""},
		{0, 0, 0, "", "state=open,done&per_page=7", ""},
		{0, 4, 0, "/v2/bulk_jobs/1/job_data", "id[gt]=%zz", ""},
		{1, 2, 1, "", "", `{"data":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`},
		{3, 1, 2, "", "", `{"name":null,"ready_to_execute":"yes"}`},
		{4, 4, 0, "/v2/bulk_jobs/9/results/", "", ""},
		{1, 0, 0, "", "", "{\"type\":\"\xff\"}"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.id, s.raw, s.query, s.body)
	}
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
	f.Fuzz(func(t *testing.T, method, path uint8, id int64, raw, query, body string) {
		target := raw
		switch path % 5 {
		case 0:
			target = "/v2/bulk_jobs"
		case 1:
			target = "/v2/bulk_jobs/" + strconv.FormatInt(id, 10)
		case 2:
			target = "/v2/bulk_jobs/" + strconv.FormatInt(id, 10) + "/job_data"
		case 3:
			target = "/v2/bulk_jobs/" + strconv.FormatInt(id, 10) + "/results"
		}
		req := &http.Request{
			Method:        methods[int(method)%len(methods)],
			URL:           &url.URL{Path: target, RawQuery: query},
			Header:        http.Header{"Authorization": {"Bearer fuzz"}},
			Body:          http.NoBody,
			ContentLength: int64(len(body)),
		}
		if body != "" {
			req.Body = readCloser{strings.NewReader(body)}
		}
		if method&0x80 != 0 {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 405, 413, 422, 429, 500, 502, 503:
		default:
			t.Fatalf("%s %s?%s = %d %s", req.Method, target, query, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s = %d with invalid JSON %q", req.Method, target, rec.Code, rec.Body)
		}
		h := rec.Header()
		if h.Get("Content-Type") != contentType {
			t.Fatalf("Content-Type = %q", h.Get("Content-Type"))
		}
		for _, name := range []string{"X-Ratelimit-Endpoint-Cost", "X-Ratelimit-Remaining-Minute"} {
			if _, err := strconv.Atoi(h.Get(name)); err != nil {
				t.Fatalf("%s = %q", name, h.Get(name))
			}
		}
	})
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }
