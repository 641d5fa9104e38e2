package uploader

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/manifest"
)

// interruptedUpload uploads recs in batches of 50 into env's job with
// state in dir, cancels after stop batches, and checks the error.
func interruptedUpload(t *testing.T, env *testEnv, dir string, recs [][]byte, stop int32) Stats {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	u, err := New(Config{Client: env.client, StateDir: dir, Retry: fastRetry, OnBatch: func(BatchResult) {
		if n.Add(1) == stop {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := u.Upload(ctx, env.job, newSource(recs, 50))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("canceled Upload = %v; want context.Canceled and how to resume", err)
	}
	if st.Batches < int64(stop) || st.Batches >= int64(len(recs)/50) {
		t.Fatalf("canceled Upload stored %d batches; want at least %d, not all", st.Batches, stop)
	}
	return st
}

func resumeFrom(t *testing.T, env *testEnv, dir string) *Uploader {
	t.Helper()
	m, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	u, err := New(Config{Client: env.client, StateDir: dir, Manifest: m, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCancelThenResume(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run("", func(t *testing.T) {
			env := newEnv(t, apitest.Config{Seed: seed, Faults: apitest.Faults{ErrorAfterStore: 0.15, Latency: time.Millisecond}}, 0, nil)
			dir := t.TempDir()
			recs := makeRecords(2500, "c")
			first := interruptedUpload(t, env, dir, recs, 10)

			u := resumeFrom(t, env, dir)
			st, err := u.Upload(context.Background(), env.job, newSource(recs, 50))
			if err != nil {
				t.Fatal(err)
			}
			checkOnce(t, env.srv, env.job, recs)
			if st.Skipped+st.Batches != 50 || st.Skipped < first.Batches {
				t.Errorf("resumed Upload: %d skipped + %d stored; want 50, at least %d skipped", st.Skipped, st.Batches, first.Batches)
			}
			// A complete upload resumed again does nothing.
			u = resumeFrom(t, env, dir)
			st, err = u.Upload(context.Background(), env.job, newSource(recs, 50))
			if err != nil || st.Calls != 1 || st.Batches != 0 {
				t.Errorf("Upload of a complete manifest = %+v, %v; want one call, nothing stored", st, err)
			}
			checkOnce(t, env.srv, env.job, recs)
		})
	}
}

func TestResumeRefusesMismatch(t *testing.T) {
	env := newEnv(t, apitest.Config{}, 0, nil)
	dir := t.TempDir()
	recs := makeRecords(2500, "m")
	interruptedUpload(t, env, dir, recs, 5)
	before := countRecords(env.srv.Records(testKey, env.job))

	changed := append([][]byte(nil), recs...)
	changed[3] = []byte(`{"email_address":"changed@example.test"}`)
	u := resumeFrom(t, env, dir)
	if _, err := u.Upload(context.Background(), env.job, newSource(changed, 50)); !errors.Is(err, ErrManifestMismatch) {
		t.Errorf("resume with a changed input = %v; want ErrManifestMismatch", err)
	}
	u = resumeFrom(t, env, dir)
	if _, err := u.Upload(context.Background(), env.job, newSource(recs, 40)); !errors.Is(err, ErrManifestMismatch) {
		t.Errorf("resume with other batch sizes = %v; want ErrManifestMismatch", err)
	}
	u = resumeFrom(t, env, dir)
	if _, err := u.Upload(context.Background(), env.job, newSource(recs[:100], 50)); !errors.Is(err, ErrManifestMismatch) {
		t.Errorf("resume with a truncated input = %v; want ErrManifestMismatch", err)
	}
	u = resumeFrom(t, env, dir)
	if _, err := u.Upload(context.Background(), env.job+1, newSource(recs, 50)); !errors.Is(err, ErrManifestMismatch) {
		t.Errorf("resume into another job = %v; want ErrManifestMismatch", err)
	}
	if after := countRecords(env.srv.Records(testKey, env.job)); !maps.Equal(after, before) {
		t.Errorf("a refused resume changed the job: it held %d distinct records, now %d", len(before), len(after))
	}
}

func TestForeignWritesStop(t *testing.T) {
	env := newEnv(t, apitest.Config{}, 0, nil)
	other := newClient(t, env.srv, 0, nil)
	var once atomic.Bool
	u, _ := New(Config{Client: env.client, Workers: 1, Retry: fastRetry, OnBatch: func(BatchResult) {
		if once.CompareAndSwap(false, true) {
			if _, _, err := other.CreateJobData(context.Background(), env.job, []byte(`{"data":[{"a":1}]}`)); err != nil {
				t.Error(err)
			}
			env.srv.FailNext(apitest.FaultErrorAfterStore, 1)
		}
	}})
	_, err := u.Upload(context.Background(), env.job, newSource(makeRecords(500, "f"), 50))
	if !errors.Is(err, ErrForeignWrites) {
		t.Fatalf("Upload with another writer = %v; want ErrForeignWrites", err)
	}
}

// TestCancelWhileStoredNotAnswered cancels while every upload in flight is
// stored but unanswered: Upload returns after DrainTimeout, keeps them in
// doubt in the manifest, and the resumed upload settles them.
func TestCancelWhileStoredNotAnswered(t *testing.T) {
	env := newEnv(t, apitest.Config{}, time.Minute, nil)
	dir := t.TempDir()
	recs := makeRecords(1000, "d")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	u, _ := New(Config{Client: env.client, StateDir: dir, Retry: fastRetry, DrainTimeout: 50 * time.Millisecond,
		OnBatch: func(BatchResult) {
			if n.Add(1) == 3 {
				env.srv.SetFaults(apitest.Faults{StallAfterStore: 1, StallDuration: time.Minute})
				go func() {
					for env.srv.Stats().Faults[apitest.FaultStallAfterStore] < 4 {
						time.Sleep(time.Millisecond)
					}
					cancel()
				}()
			}
		}})
	st, err := u.Upload(ctx, env.job, newSource(recs, 50))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Upload = %v; want context.Canceled", err)
	}
	m, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(env.srv.Records(testKey, env.job)); int64(got) <= m.Upload.AckedRecords {
		t.Fatalf("emulator holds %d records, manifest %d stored: nothing was left in doubt", got, m.Upload.AckedRecords)
	}
	t.Logf("canceled: %+v; manifest sent %v", st, m.Upload.Sent)
	env.srv.SetFaults(apitest.Faults{})
	u = resumeFrom(t, env, dir)
	st, err = u.Upload(context.Background(), env.job, newSource(recs, 50))
	if err != nil {
		t.Fatal(err)
	}
	if st.Reconciliations == 0 {
		t.Error("the resumed upload did not reconcile")
	}
	checkOnce(t, env.srv, env.job, recs)
}
