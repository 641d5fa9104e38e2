package uploader

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
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
// HTTP attempt (0: 10 s); b paces the client (nil: unlimited). The client
// reaches the emulator through a handoff (see there); other clients made
// with newClient reach it directly.
func newEnv(t testing.TB, cfg apitest.Config, timeout time.Duration, b *budget.Budget) *testEnv {
	t.Helper()
	if cfg.ProcessRate == 0 {
		cfg.ProcessRate = apitest.NoLimit
	}
	srv := apitest.NewServer(cfg)
	t.Cleanup(srv.Close)
	h := &handoff{done: map[string]*handoffEntry{}}
	front := httptest.NewServer(h.handler(srv.Emulator))
	// Before srv.Close: release the requests faults delay, then wait for
	// the front's requests.
	t.Cleanup(func() { srv.Emulator.Close(); front.Close() })
	client := newClientAt(t, front.URL, timeout, b, func(rt http.RoundTripper) http.RoundTripper {
		return &handoffTransport{h: h, base: rt}
	})
	// The job is made by a client without the test's timeout: a 300 ms
	// timeout meant for stalled uploads failed the setup now and then on
	// a loaded machine.
	job, _, err := newClient(t, srv, 0, nil).CreateJob(context.Background(), api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{srv: srv, client: client, job: job.ID}
}

func newClient(t testing.TB, srv *apitest.Server, timeout time.Duration, b *budget.Budget) *api.Client {
	t.Helper()
	return newClientAt(t, srv.URL, timeout, b, nil)
}

// newClientAt returns a client of the emulator at url; wrap, when set,
// wraps its transport.
func newClientAt(t testing.TB, url string, timeout time.Duration, b *budget.Budget, wrap func(http.RoundTripper) http.RoundTripper) *api.Client {
	t.Helper()
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	tr := api.DefaultTransport()
	t.Cleanup(tr.CloseIdleConnections)
	var rt http.RoundTripper = tr
	if wrap != nil {
		rt = wrap(tr)
	}
	cfg := api.Config{APIKey: testKey, BaseURL: url, HTTPClient: &http.Client{Timeout: timeout, Transport: rt}}
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

// A handoff makes an HTTP attempt that fails on the client's side (a
// timeout, a reset) end, as the uploader sees it, only once the emulator
// has finished handling it, and tells the emulator when the client gave
// up, as a server sees a closed connection. An attempt the client saw end
// is then over on the server too, which is what the uploader's
// reconciliation relies on ("nothing is in flight").
//
// Without it, a POST whose client gave up before the emulator began to
// handle it (a 300 ms timeout on a loaded machine under -race) was still
// read from the socket buffer and stored later, after a reconciliation
// round had counted the job; the uploader then rightly stopped with
// ErrForeignWrites, and the fault tests failed now and then. (The emulator
// does not see a client close while it has not read a request body to EOF,
// so its stalls also outlived the client's timeout.)
type handoff struct {
	next atomic.Int64
	mu   sync.Mutex
	done map[string]*handoffEntry // by attempt id
}

// A handoffEntry is one attempt's: gaveUp ends when the client's
// RoundTrip failed, handled is closed when the handler returned. It is
// deleted once both the handler and the client are done with it.
type handoffEntry struct {
	gaveUp  context.Context
	giveUp  context.CancelFunc
	handled chan struct{}
	refs    int
}

const handoffHeader = "X-Test-Attempt"

func (h *handoff) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(handoffHeader)
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		e := h.entry(id)
		defer h.release(id)
		defer close(e.handled)
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer context.AfterFunc(e.gaveUp, cancel)()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (h *handoff) entry(id string) *handoffEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.done[id]
	if !ok {
		e = &handoffEntry{handled: make(chan struct{}), refs: 2}
		e.gaveUp, e.giveUp = context.WithCancel(context.Background())
		h.done[id] = e
	}
	return e
}

func (h *handoff) release(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := h.done[id]; e != nil {
		if e.refs--; e.refs == 0 {
			e.giveUp()
			delete(h.done, id)
		}
	}
}

type handoffTransport struct {
	h    *handoff
	base http.RoundTripper
}

func (t *handoffTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	id := strconv.FormatInt(t.h.next.Add(1), 10)
	var wrote atomic.Bool // some of the request reached the server
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	req = req.Clone(ctx)
	req.Header.Set(handoffHeader, id)
	e := t.h.entry(id)
	defer t.h.release(id)
	resp, err := t.base.RoundTrip(req)
	if err != nil && wrote.Load() {
		e.giveUp()
		select {
		case <-e.handled:
		case <-time.After(5 * time.Second): // the server never read the whole request
		}
	}
	return resp, err
}
