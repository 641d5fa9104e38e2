package apitest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
)

// The emulator is a server others run (bulkload serve): these tests send
// it what a hostile or broken client would, through real connections, and
// check that every request gets a JSON answer, that the server stays up
// and answers the next client, and that no request costs it more memory
// than the body it actually sent.

const hostileKey = "hostile-key"

func hostileServer(t *testing.T, cfg apitest.Config) *apitest.Server {
	t.Helper()
	cfg.APIKeys = []string{hostileKey}
	if cfg.ProcessRate == 0 {
		cfg.ProcessRate = apitest.NoLimit
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = apitest.NoLimit
	}
	srv := apitest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

// hostileDo sends one request and returns its status and body; it fails
// the test unless the answer is JSON.
func hostileDo(t *testing.T, c *http.Client, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+hostileKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %.100s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %.100s: reading the answer: %v", method, url, err)
	}
	if !json.Valid(b) {
		t.Fatalf("%s %.100s = %d with a body that is not JSON: %.200q", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, b
}

// hostileJob creates an open job and returns its path.
func hostileJob(t *testing.T, srv *apitest.Server) string {
	t.Helper()
	code, b := hostileDo(t, srv.Client(), "POST", srv.URL+"/v2/bulk_jobs", `{"type":"person/upsert"}`)
	var v struct{ Data struct{ ID int64 } }
	if err := json.Unmarshal(b, &v); code != 200 || err != nil {
		t.Fatalf("create job: %d %s", code, b)
	}
	return fmt.Sprintf("/v2/bulk_jobs/%d", v.Data.ID)
}

// stillServes checks the server answers an ordinary request promptly.
func stillServes(t *testing.T, srv *apitest.Server) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	if code, b := hostileDo(t, c, "GET", srv.URL+"/v2/bulk_jobs", ""); code != 200 {
		t.Fatalf("after the hostile requests, GET /v2/bulk_jobs = %d %s; want 200", code, b)
	}
}

// TestHostileDeepNesting: bodies nested a million levels deep are refused
// with 400, in every place a body holds a value, without exhausting the
// stack.
func TestHostileDeepNesting(t *testing.T) {
	t.Parallel()
	srv := hostileServer(t, apitest.Config{})
	job := hostileJob(t, srv)
	deep := func(open, close string) string {
		return strings.Repeat(open, 1<<20) + strings.Repeat(close, 1<<20)
	}
	for _, tt := range []struct {
		name, method, path, body string
	}{
		{"record", "POST", job + "/job_data", `{"data":[{"a":` + deep(`{"a":`, `}`) + `}]}`},
		{"record array", "POST", job + "/job_data", `{"data":[{"a":` + deep("[", "]") + `}]}`},
		{"data", "POST", job + "/job_data", `{"data":` + deep("[", "]") + `}`},
		{"other member", "POST", job + "/job_data", `{"x":` + deep("[", "]") + `,"data":[{}]}`},
		{"unclosed", "POST", job + "/job_data", `{"data":[{"a":` + strings.Repeat("[", 1<<20)},
		{"create", "POST", "/v2/bulk_jobs", `{"type":"person/upsert","name":` + deep("[", "]") + `}`},
		{"update", "PUT", job, `{"name":` + deep(`{"a":`, `}`) + `}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, b := hostileDo(t, srv.Client(), tt.method, srv.URL+tt.path, tt.body)
			if code != 400 {
				t.Errorf("%s %s with %d bytes nested deep = %d %s; want 400", tt.method, tt.path, len(tt.body), code, b)
			}
		})
	}
	if recs := srv.Records(hostileKey, 1); len(recs) != 0 {
		t.Errorf("the job holds %d records; want none", len(recs))
	}
	stillServes(t, srv)
}

// TestHostileQueries: malformed, huge and absurd query strings on every
// list endpoint are answered 200, 400 or 422, never 500, always JSON.
func TestHostileQueries(t *testing.T) {
	t.Parallel()
	srv := hostileServer(t, apitest.Config{})
	job := hostileJob(t, srv)
	var many strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&many, "&p%d=%d", i, i)
	}
	queries := []string{
		"%zz", "id[gt]=%", "id[gt]=%00", "per_page=0", "per_page=-1", "per_page=101", "per_page=1e3",
		"per_page=99999999999999999999999", "id[gt]=-1", "id[gt]=9223372036854775807", "id[gt]=9223372036854775808",
		"id[gt]=0x10", "id[gt]=%201", "id[gt]=1&id[gt]=x", "state=nope", "state[]=open&state[]=", "status=\xff",
		"status[]=success,,,error", ";;;", "&&&", "=", "a=%", "id%5Bgt%5D=%FF", "per_page=" + strings.Repeat("9", 10000),
		"state=" + strings.Repeat("open,", 20000), many.String()[1:], strings.Repeat("x", 200000),
	}
	for _, path := range []string{"/v2/bulk_jobs", job, job + "/job_data", job + "/results"} {
		for _, q := range queries {
			code, b := hostileDo(t, srv.Client(), "GET", srv.URL+path+"?"+q, "")
			switch code {
			case 200, 400, 422:
			default:
				t.Errorf("GET %s?%.80q = %d %.200s; want 200, 400 or 422", path, q, code, b)
			}
		}
	}
	stillServes(t, srv)
}

// endless is a body that never ends, counting what was read of it.
type endless struct{ n atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.n.Add(int64(len(p)))
	return len(p), nil
}

// TestHostileEndlessBody: a body without a length that never ends is cut
// off at MaxBodyBytes with 413 (or the connection closed), after reading
// about that much of it, on both endpoints that read a body.
func TestHostileEndlessBody(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	srv := hostileServer(t, apitest.Config{MaxBodyBytes: limit})
	job := hostileJob(t, srv)
	for _, path := range []string{"/v2/bulk_jobs", job + "/job_data", job} {
		body := &endless{}
		method := "POST"
		if path == job {
			method = "PUT"
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		req.Header.Set("Authorization", "Bearer "+hostileKey)
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s %s with an endless body = %d; want 413", method, path, resp.StatusCode)
			}
		}
		// The client may keep writing into socket buffers for a while
		// after the server stops reading, but not for 64 MiB.
		if n := body.n.Load(); n > 64<<20 {
			t.Errorf("%s %s: the server read %d bytes of an endless body; want about %d", method, path, n, limit)
		}
	}
	stillServes(t, srv)
}

// TestHostileDeclaredLength: clients that declare a large Content-Length
// and then send (almost) nothing must not make the server allocate what
// they declared: otherwise a few hundred bytes of headers per connection
// make it reserve MaxBodyBytes each, and a few dozen connections take
// gigabytes.
//
// Not parallel: it measures the heap, which other tests would grow.
func TestHostileDeclaredLength(t *testing.T) {
	const (
		limit = 32 << 20
		conns = 16
	)
	srv := hostileServer(t, apitest.Config{MaxBodyBytes: limit})
	addr := strings.TrimPrefix(srv.URL, "http://")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var cs []net.Conn
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		fmt.Fprintf(c, "POST /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"type\":", hostileKey, limit)
	}
	// Give the handlers time to start reading the bodies.
	deadline := time.Now().Add(5 * time.Second)
	requests := func() (n int64) {
		for _, k := range srv.Stats().Requests {
			n += k
		}
		return n
	}
	for requests() < conns && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grown > conns*limit/4 {
		t.Errorf("%d connections that each declared %d MiB and sent 8 bytes grew the heap by %d MiB; want it bounded by what they sent",
			conns, limit>>20, grown>>20)
	}
	stillServes(t, srv)
}

// TestHostileSlowBody: a client that trickles its body does not hold up
// other clients: the emulator holds no lock while it reads a body.
func TestHostileSlowBody(t *testing.T) {
	t.Parallel()
	srv := hostileServer(t, apitest.Config{})
	job := hostileJob(t, srv)
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequest("POST", srv.URL+job+"/job_data", pr)
		req.Header.Set("Authorization", "Bearer "+hostileKey)
		resp, err := srv.Client().Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	defer wg.Wait()
	defer pw.Close()
	body := `{"data":[{"email_address":"slow@x.io","upsert_key":"email_address"}]}`
	pw.Write([]byte(body[:10]))
	for i := range 10 {
		start := time.Now()
		stillServes(t, srv)
		if code, b := hostileDo(t, srv.Client(), "GET", srv.URL+job+"/job_data", ""); code != 200 {
			t.Fatalf("GET job_data during a slow upload = %d %s", code, b)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("requests took %v while another client trickled its body; want no wait", d)
		}
		pw.Write([]byte(body[10+i : 11+i]))
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHostileHeaders: absurd headers are answered, not crashed on.
func TestHostileHeaders(t *testing.T) {
	t.Parallel()
	srv := hostileServer(t, apitest.Config{})
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, req := range []string{
		"GET /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
		"GET /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\nAuthorization: " + strings.Repeat("B", 500000) + "\r\n\r\n",
		"GET /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n\r\n",
		"GET /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + hostileKey + "\r\nAuthorization: Bearer other\r\n\r\n",
		"POST /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + hostileKey + "\r\nContent-Type: application/x-www-form-urlencoded; charset=\xff\r\nContent-Length: 9\r\n\r\ntype=%zz&",
		"POST /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + hostileKey + "\r\nContent-Length: -1\r\n\r\n",
		"POST /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + hostileKey + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET /v2/bulk_jobs/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + hostileKey + "\r\n\r\n",
		"GET /v2/bulk_jobs/99999999999999999999999/job_data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + hostileKey + "\r\n\r\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("%.80q = %d %s; want no 5xx", req, resp.StatusCode, b)
			}
		}
		c.Close()
	}
	stillServes(t, srv)
}

// FuzzRawRequest feeds the emulator requests as raw bytes off the wire
// (whatever net/http's parser lets through): no panic, and every answer is
// JSON with a status the API documents.
func FuzzRawRequest(f *testing.F) {
	e, err := apitest.New(apitest.Config{APIKeys: []string{hostileKey}, ProcessRate: apitest.NoLimit, RateLimit: apitest.NoLimit, MaxBodyBytes: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(e.Close)
	auth := "Authorization: Bearer " + hostileKey + "\r\n"
	for _, s := range []string{
		"POST /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 24\r\n\r\n{\"type\":\"person/upsert\"}",
		"POST /v2/bulk_jobs/1/job_data HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 17\r\n\r\n{\"data\":[{\"a\":1}]}",
		"POST /v2/bulk_jobs/1/job_data HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"dat\r\n0\r\n\r\n",
		"PUT /v2/bulk_jobs/1 HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 21\r\n\r\nready_to_execute=true",
		"GET /v2/bulk_jobs/1/results?per_page=100&id[gt]=0&status=success,error HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
		"GET /v2/bulk_jobs?state[]=open&state=done&per_page=%zz HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
		"DELETE /v2/bulk_jobs/1 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
		"GET //v2/bulk_jobs/../bulk_jobs/1 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 404, 405, 413, 422, 429, 500, 502, 503:
		default:
			t.Fatalf("%s %s = %d %s", req.Method, req.URL, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s = %d with a body that is not JSON: %q", req.Method, req.URL, rec.Code, rec.Body)
		}
	})
}
