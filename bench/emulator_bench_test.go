package bench

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/internal/sample"
)

// The emulator benchmarks post job_data batches of 5,000 realistic person
// records (internal/sample, about 1.35 MB a batch) to apitest:
//
//	go test -run '^$' -bench 'Emulator' -benchmem ./bench/
//
// EmulatorStore calls the handler directly (read body, scan, store, answer:
// the store path alone); EmulatorUpload goes through net/http on loopback
// with the client in the same process, sequentially and with one client
// goroutine per CPU. The emulator keeps every record it stores, so each
// benchmark starts a fresh one every rotateEvery batches to bound memory.

const (
	batchRecords = 5000
	rotateEvery  = 64
)

var (
	batchOnce sync.Once
	batchBody []byte
)

// jobDataBody returns {"data":[...5,000 records...]}.
func jobDataBody(b *testing.B) []byte {
	b.Helper()
	batchOnce.Do(func() {
		var lines bytes.Buffer
		if err := sample.WriteJSONL(&lines, batchRecords, sample.Options{Seed: 1}); err != nil {
			panic(err)
		}
		body := []byte(`{"data":[`)
		body = append(body, bytes.ReplaceAll(bytes.TrimSpace(lines.Bytes()), []byte("\n"), []byte(","))...)
		batchBody = append(body, "]}"...)
	})
	return batchBody
}

// emulatorJob is a fresh emulator with one open job.
type emulatorJob struct {
	srv  *apitest.Server
	url  string
	sent int
}

func newEmulatorJob(b *testing.B) *emulatorJob {
	srv := apitest.NewServer(apitest.Config{RateLimit: apitest.NoLimit})
	req, _ := http.NewRequest("POST", srv.URL+"/v2/bulk_jobs", bytes.NewReader([]byte(`{"type":"person/upsert"}`)))
	req.Header.Set("Authorization", "Bearer bench")
	resp, err := srv.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("create job: %v %v", resp, err)
	}
	resp.Body.Close()
	return &emulatorJob{srv: srv, url: srv.URL + "/v2/bulk_jobs/1/job_data"}
}

// post sends one batch, rotating the emulator every rotateEvery batches.
func (j *emulatorJob) post(b *testing.B, body []byte) *emulatorJob {
	if j.sent == rotateEvery {
		j.srv.Close()
		j = newEmulatorJob(b)
	}
	j.sent++
	req, _ := http.NewRequest("POST", j.url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := j.srv.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("job_data = %d", resp.StatusCode)
	}
	return j
}

func reportRecords(b *testing.B) {
	b.ReportMetric(float64(b.N)*batchRecords/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkEmulatorUpload(b *testing.B) {
	body := jobDataBody(b)
	j := newEmulatorJob(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		j = j.post(b, body)
	}
	b.StopTimer()
	reportRecords(b)
	j.srv.Close()
}

func BenchmarkEmulatorUploadParallel(b *testing.B) {
	body := jobDataBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		j := newEmulatorJob(b)
		defer func() { j.srv.Close() }()
		for pb.Next() {
			j = j.post(b, body)
		}
	})
	b.StopTimer()
	reportRecords(b)
}

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(status int)      { d.status = status }

func BenchmarkEmulatorStore(b *testing.B) {
	body := jobDataBody(b)
	var em *apitest.Emulator
	rotate := func() {
		if em != nil {
			em.Close()
		}
		var err error
		if em, err = apitest.New(apitest.Config{RateLimit: apitest.NoLimit}); err != nil {
			b.Fatal(err)
		}
		w := &discard{h: http.Header{}}
		req, _ := http.NewRequest("POST", "/v2/bulk_jobs", bytes.NewReader([]byte(`{"type":"person/upsert"}`)))
		req.Header.Set("Authorization", "Bearer bench")
		em.ServeHTTP(w, req)
	}
	rotate()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%rotateEvery == 0 {
			b.StopTimer()
			rotate()
			b.StartTimer()
		}
		w := &discard{h: http.Header{}}
		req, _ := http.NewRequest("POST", "/v2/bulk_jobs/1/job_data", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer bench")
		em.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("job_data = %d", w.status)
		}
	}
	b.StopTimer()
	reportRecords(b)
	em.Close()
}
