package uploader

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
)

func TestUploadStoresEveryRecordOnce(t *testing.T) {
	for _, workers := range []int{1, 4, 16} {
		t.Run("", func(t *testing.T) {
			env := newEnv(t, apitest.Config{}, 0, nil)
			recs := makeRecords(1003, "w")
			var hooked atomic.Int64
			var mu sync.Mutex
			seen := map[int]bool{}
			u, err := New(Config{Client: env.client, Workers: workers, Retry: fastRetry,
				OnBatch: func(r BatchResult) {
					hooked.Add(int64(r.Records))
					mu.Lock()
					defer mu.Unlock()
					if seen[r.Seq] || r.Attempts != 1 || r.Skipped {
						t.Errorf("OnBatch(%+v): repeated, or not one attempt", r)
					}
					seen[r.Seq] = true
				}})
			if err != nil {
				t.Fatal(err)
			}
			st, err := u.Upload(context.Background(), env.job, newSource(recs, 50))
			if err != nil {
				t.Fatal(err)
			}
			checkOnce(t, env.srv, env.job, recs)
			if st.Batches != 21 || st.Records != 1003 || hooked.Load() != 1003 || st.InDoubt != 0 {
				t.Errorf("Stats = %+v, hook saw %d records; want 21 batches, 1003 records", st, hooked.Load())
			}
			// 21 uploads, one GetJob before and one after.
			if st.Calls != 23 {
				t.Errorf("Stats.Calls = %d; want 23", st.Calls)
			}
			if m := u.Manifest(); !m.Upload.Complete || m.Upload.Batches != 21 || m.Upload.AckedRecords != 1003 || m.Upload.AckedBelow != 21 {
				t.Errorf("manifest upload state = %+v; want complete, 21 batches", m.Upload)
			}
		})
	}
}

func TestUploadEmptySource(t *testing.T) {
	env := newEnv(t, apitest.Config{}, 0, nil)
	u, err := New(Config{Client: env.client})
	if err != nil {
		t.Fatal(err)
	}
	st, err := u.Upload(context.Background(), env.job, newSource(nil, 10))
	if err != nil || st.Batches != 0 {
		t.Fatalf("Upload(empty) = %+v, %v", st, err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{{}, {Client: fakeNothing{}, Workers: -1}, {Client: fakeNothing{}, DrainTimeout: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

type fakeNothing struct{ Client }

func TestJobNotOpen(t *testing.T) {
	env := newEnv(t, apitest.Config{}, 0, nil)
	ready := true
	if _, _, err := env.client.UpdateJob(context.Background(), env.job, api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		t.Fatal(err)
	}
	u, _ := New(Config{Client: env.client, Retry: fastRetry})
	_, err := u.Upload(context.Background(), env.job, newSource(makeRecords(10, "x"), 5))
	if !errors.Is(err, ErrJobNotOpen) {
		t.Fatalf("Upload into a job marked ready = %v; want ErrJobNotOpen", err)
	}
}

func TestJobClosedDuringUpload(t *testing.T) {
	env := newEnv(t, apitest.Config{}, 0, nil)
	var once sync.Once
	u, _ := New(Config{Client: env.client, Workers: 2, Retry: fastRetry, OnBatch: func(BatchResult) {
		once.Do(func() {
			ready := true
			if _, _, err := env.client.UpdateJob(context.Background(), env.job, api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
				t.Error(err)
			}
		})
	}})
	st, err := u.Upload(context.Background(), env.job, newSource(makeRecords(500, "x"), 10))
	var be *BatchError
	if !errors.Is(err, ErrJobNotOpen) || !errors.As(err, &be) || be.Attempts != 1 {
		t.Fatalf("Upload = %v; want a BatchError of one attempt wrapping ErrJobNotOpen", err)
	}
	if st.Batches == 0 || st.Batches == 50 {
		t.Errorf("Stats.Batches = %d; want some but not all", st.Batches)
	}
}

func TestBatchRejected(t *testing.T) {
	env := newEnv(t, apitest.Config{}, 0, nil)
	recs := makeRecords(100, "r")
	recs[57] = []byte(`"not an object"`)
	u, _ := New(Config{Client: env.client, Workers: 1, Retry: fastRetry})
	_, err := u.Upload(context.Background(), env.job, newSource(recs, 10))
	var be *BatchError
	if !errors.Is(err, ErrBatchRejected) || !errors.As(err, &be) || be.Seq != 5 || be.FirstLine != 51 || be.Attempts != 1 {
		t.Fatalf("Upload = %v; want ErrBatchRejected naming batch 5, lines 51-60", err)
	}
}

func TestRetryGivesUpNamingBatchAndAttempts(t *testing.T) {
	env := newEnv(t, apitest.Config{Faults: apitest.Faults{ErrorBeforeStore: 1}}, 0, nil)
	retry := fastRetry
	retry.MaxAttempts = 3
	u, _ := New(Config{Client: env.client, Workers: 1, Retry: retry})
	_, err := u.Upload(context.Background(), env.job, newSource(makeRecords(10, "g"), 10))
	var be *BatchError
	if !errors.As(err, &be) || be.Seq != 0 || be.Attempts != 3 {
		t.Fatalf("Upload = %v; want a BatchError for batch 0 after 3 attempts", err)
	}
	if got := err.Error(); !strings.Contains(got, "batch 0") || !strings.Contains(got, "3 attempts") {
		t.Errorf("error %q does not name the batch and the attempts", got)
	}
	if len(env.srv.Records(testKey, env.job)) != 0 {
		t.Error("records were stored")
	}
}

func TestStatsWhileRunning(t *testing.T) {
	env := newEnv(t, apitest.Config{Faults: apitest.Faults{Latency: time.Millisecond}}, 0, nil)
	u, _ := New(Config{Client: env.client, Retry: fastRetry})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_ = u.Stats()
			_ = u.Manifest()
			time.Sleep(time.Millisecond)
		}
	}()
	_, err := u.Upload(context.Background(), env.job, newSource(makeRecords(400, "s"), 10))
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
}

func TestOneUploadAtATime(t *testing.T) {
	env := newEnv(t, apitest.Config{Faults: apitest.Faults{Latency: 20 * time.Millisecond}}, 0, nil)
	u, _ := New(Config{Client: env.client, Retry: fastRetry})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		src := &hookSource{Source: newSource(makeRecords(50, "o"), 10), first: started}
		if _, err := u.Upload(context.Background(), env.job, src); err != nil {
			t.Error(err)
		}
	})
	<-started
	if _, err := u.Upload(context.Background(), env.job, newSource(nil, 1)); err == nil {
		t.Error("a second concurrent Upload succeeded")
	}
	wg.Wait()
}

// hookSource closes first when the first batch is read.
type hookSource struct {
	Source
	first chan struct{}
	once  sync.Once
}

func (h *hookSource) Next() (Batch, error) {
	h.once.Do(func() { close(h.first) })
	return h.Source.Next()
}
