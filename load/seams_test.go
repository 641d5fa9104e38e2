package load_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/load"
	"github.com/bulkload/bulkload/manifest"
)

// interruptedRun starts a Run of input into srv and cancels it once the
// job holds at least `stored` records: the state an interrupted `bulkload
// run` leaves. It returns the job's id.
func interruptedRun(t *testing.T, srv *apitest.Server, l *load.Loader, input string, stored int) int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for len(srv.Jobs(testKey)) == 0 {
			time.Sleep(time.Millisecond)
		}
		untilStored(t, srv, srv.Jobs(testKey)[len(srv.Jobs(testKey))-1].ID, stored)
		cancel()
	}()
	rep, err := l.Run(ctx, load.Input{Path: input, BatchSize: 250}, load.RunOptions{Type: "person/upsert"})
	if !errors.Is(err, context.Canceled) || !rep.Interrupted || !rep.Resumable {
		t.Fatalf("interrupted run: %+v, %v; want an interrupted, resumable run", rep, err)
	}
	return rep.JobID
}

// Two resumes of one job at once: the second fails at once, naming the
// holder, and sends nothing; the first stores every record once. Before
// the lock, both uploaded (34,250 records for 20,000).
func TestTwoResumesAtOnce(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 30*time.Millisecond)
	dir, state := t.TempDir(), t.TempDir()
	in := writePeople(t, dir, 6000)
	id := interruptedRun(t, srv, loader(t, srv, state, dir), in, 1000)

	first := loader(t, srv, state, dir)
	done := make(chan error, 1)
	go func() {
		_, err := first.Resume(context.Background(), id, load.ResumeOptions{})
		done <- err
	}()
	for first.Stats().Phase != load.PhaseUpload { // it holds the lock from its start
		time.Sleep(time.Millisecond)
	}
	rep, err := loader(t, srv, state, dir).Resume(context.Background(), id, load.ResumeOptions{})
	var locked *load.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, load.ErrLocked) {
		t.Fatalf("second resume: %v; want a *LockedError", err)
	}
	host, _ := os.Hostname()
	if locked.Holder.PID != os.Getpid() || locked.Holder.Host != host || locked.Holder.Command != "resume" ||
		time.Since(locked.Holder.Since) > time.Minute || !strings.Contains(err.Error(), "in use by PID") {
		t.Errorf("lock holder %+v (%v); want this process, this host, resume, just now", locked.Holder, err)
	}
	if rep.Sent != 0 {
		t.Errorf("second resume sent %d records; want none", rep.Sent)
	}
	if err := <-done; err != nil {
		t.Fatalf("first resume: %v", err)
	}
	storedOnce(t, srv, id, in)
}

// upload --job J into a job whose run was interrupted refuses, naming
// resume, and sends nothing; before, it sent the whole file again.
func TestUploadIntoInterruptedRun(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 20*time.Millisecond)
	dir, state := t.TempDir(), t.TempDir()
	in := writePeople(t, dir, 3000)
	l := loader(t, srv, state, dir)
	id := interruptedRun(t, srv, l, in, 500)
	held := total(srv, id)
	_, err := l.Upload(context.Background(), id, load.Input{Path: in, BatchSize: 250}, load.UploadOptions{})
	var busy *load.BusyError
	if !errors.As(err, &busy) || busy.JobID != id || !strings.Contains(err.Error(), "resume job") {
		t.Fatalf("upload into an interrupted run: %v; want a *BusyError naming resume", err)
	}
	if n := total(srv, id); n != held {
		t.Fatalf("the refused upload changed the job from %d to %d records", held, n)
	}
	if _, err := l.Resume(context.Background(), id, load.ResumeOptions{}); err != nil {
		t.Fatal(err)
	}
	storedOnce(t, srv, id, in)
}

// An interrupted upload, run again with the file unchanged, continues
// like resume; with a row appended, it refuses and says what changed.
// Before, the whole file was sent again (25,751 records for 20,001).
func TestUploadAgainAfterInterrupt(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 20*time.Millisecond)
	dir, state := t.TempDir(), t.TempDir()
	in := writePeople(t, dir, 3000)
	l := loader(t, srv, state, dir)
	job, err := l.Create(context.Background(), "person/upsert", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { untilStored(t, srv, job.ID, 500); cancel() }()
	if _, err := l.Upload(ctx, job.ID, load.Input{Path: in, BatchSize: 250}, load.UploadOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted upload: %v", err)
	}
	held := total(srv, job.ID)

	original, _ := os.ReadFile(in)
	f, _ := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"email_address":"late@example.com","upsert_key":"email_address"}` + "\n")
	f.Close()
	_, err = l.Upload(context.Background(), job.ID, load.Input{Path: in, BatchSize: 250}, load.UploadOptions{})
	var changed *load.InputChangedError
	if !errors.As(err, &changed) || !strings.Contains(err.Error(), "read the same (records were added or changed after line") {
		t.Fatalf("upload of the changed file: %v; want an *InputChangedError saying the stored batches read the same", err)
	}
	if n := total(srv, job.ID); n != held {
		t.Fatalf("the refused upload changed the job from %d to %d records", held, n)
	}

	os.WriteFile(in, original, 0o600) // the file as it was: the upload continues
	rep, err := l.Upload(context.Background(), job.ID, load.Input{Path: in, BatchSize: 250}, load.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Uploaded != 3000 || rep.Sent != int64(3000-held) {
		t.Errorf("continued upload: uploaded %d, sent %d; want 3000 and %d", rep.Uploaded, rep.Sent, 3000-held)
	}
	storedOnce(t, srv, job.ID, in)

	// Run again once complete: nothing to send, and the report says so.
	rep, err = l.Upload(context.Background(), job.ID, load.Input{Path: in, BatchSize: 250}, load.UploadOptions{})
	if err != nil || rep.Sent != 0 || rep.Uploaded != 3000 {
		t.Errorf("upload of a stored file again: %+v, %v; want 0 sent, 3000 uploaded", rep, err)
	}
	storedOnce(t, srv, job.ID, in)
}

// Job ids repeat (another server, a restarted emulator): the earlier
// job's results files are never replaced. Before, 1,000 result rows of
// the first job 1 became the 300 of the second.
func TestRepeatedJobIDsKeepResults(t *testing.T) {
	t.Parallel()
	dir, state := t.TempDir(), t.TempDir()
	first := writePeople(t, t.TempDir(), 1000)
	second := writePeople(t, t.TempDir(), 300)
	srv := emulator(t, 0)
	rep, err := loader(t, srv, state, dir).Run(context.Background(), load.Input{Path: first}, load.RunOptions{Type: "person/upsert"})
	if err != nil || rep.JobID != 1 {
		t.Fatalf("first run: %+v, %v", rep, err)
	}
	kept, _ := os.ReadFile(rep.Files.Success)

	srv2 := emulator(t, 0) // its first job is 1 again
	rep2, err := loader(t, srv2, state, dir).Run(context.Background(), load.Input{Path: second}, load.RunOptions{Type: "person/upsert"})
	if err != nil || rep2.JobID != 1 {
		t.Fatalf("second run: %+v, %v", rep2, err)
	}
	if rep2.Files.Success == rep.Files.Success || filepath.Dir(rep2.Files.Success) != dir {
		t.Fatalf("second job 1 wrote %s; want another name in %s than %s", rep2.Files.Success, dir, rep.Files.Success)
	}
	if now, _ := os.ReadFile(rep.Files.Success); string(now) != string(kept) {
		t.Errorf("the first job's %s changed from %d to %d bytes", rep.Files.Success, len(kept), len(now))
	}
	if n := strings.Count(string(kept), "\n"); n != 1000 {
		t.Errorf("first job's success file: %d rows; want 1000", n)
	}
	b, _ := os.ReadFile(rep2.Files.Success)
	if n := strings.Count(string(b), "\n"); n != 300 {
		t.Errorf("second job's success file: %d rows; want 300", n)
	}

	// Reading the second job's results again writes its own files.
	rep3, err := loader(t, srv2, state, dir).Results(context.Background(), 1, load.ResultsOptions{})
	if err != nil || rep3.Files.Success != rep2.Files.Success {
		t.Errorf("results of the second job 1: %s, %v; want %s", rep3.Files.Success, err, rep2.Files.Success)
	}
}

// Run refuses an input with an unfinished run against the same API, and
// with Continue goes on with that run instead of loading it twice.
func TestRunRefusesUnfinishedInput(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 20*time.Millisecond)
	dir, state := t.TempDir(), t.TempDir()
	in := writePeople(t, dir, 2000)
	l := loader(t, srv, state, dir)
	id := interruptedRun(t, srv, l, in, 250)
	_, err := l.Run(context.Background(), load.Input{Path: in, BatchSize: 250}, load.RunOptions{Type: "person/upsert"})
	var u *load.UnfinishedError
	if !errors.As(err, &u) || u.JobID != id {
		t.Fatalf("run of an input with an unfinished run: %v; want an *UnfinishedError for job %d", err, id)
	}
	if n := len(srv.Jobs(testKey)); n != 1 {
		t.Fatalf("%d jobs; want the refusal to create none", n)
	}
	rep, err := l.Run(context.Background(), load.Input{Path: in, BatchSize: 250}, load.RunOptions{Type: "person/upsert", Continue: true})
	if err != nil || rep.JobID != id || rep.Succeeded != 2000 {
		t.Fatalf("run with Continue: %+v, %v; want job %d continued, 2000 succeeded", rep, err, id)
	}
	storedOnce(t, srv, id, in)
	if n := len(srv.Jobs(testKey)); n != 1 {
		t.Fatalf("%d jobs; want one", n)
	}
}

// A job filled by Upload calls only is resumed: ready, then results, each
// row naming the file and line of its record.
func TestResumeUploadedJob(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 0)
	dir, state := t.TempDir(), t.TempDir()
	a := writePeople(t, t.TempDir(), 700)
	b := filepath.Join(t.TempDir(), "more.jsonl")
	os.WriteFile(b, []byte("\n"+`{"email_address":"late@example.com","upsert_key":"email_address"}`+"\n"), 0o600)
	l := loader(t, srv, state, dir)
	job, err := l.Create(context.Background(), "person/upsert", "two files")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{a, b} {
		if _, err := l.Upload(context.Background(), job.ID, load.Input{Path: in, BatchSize: 300}, load.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := l.Resume(context.Background(), job.ID, load.ResumeOptions{})
	if err != nil || rep.State != "done" || rep.Succeeded != 701 || rep.Written != 701 || rep.Lines.Tied != 701 {
		t.Fatalf("resume of an uploaded job: %+v, %v; want done, 701 succeeded, written and tied", rep, err)
	}
	data, _ := os.ReadFile(rep.Files.Success)
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")
	last := rows[len(rows)-1]
	if !strings.Contains(last, `"line":2`) || !strings.Contains(last, `"file":"`+b+`"`) {
		t.Errorf("the second file's row %s; want its file and line 2", last)
	}
	// The first file's batches went up in parallel: its line 1 is in
	// some row, not necessarily the first.
	if !strings.Contains(string(data), `"line":1,"file":"`+a+`"`) {
		t.Errorf("no row names the first file's line 1:\n%.500s", data)
	}
}

// Results of a job never marked ready waits up to Wait, then says why.
func TestResultsWaitOpenJob(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 0)
	l := loader(t, srv, t.TempDir(), t.TempDir())
	job, err := l.Create(context.Background(), "person/upsert", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Results(context.Background(), job.ID, load.ResultsOptions{Wait: 300 * time.Millisecond})
	var w *load.WaitError
	if !errors.As(err, &w) || !strings.Contains(err.Error(), "never marked ready") {
		t.Fatalf("results of an open job: %v; want a *WaitError saying it was never marked ready", err)
	}
	if _, err := l.Ready(context.Background(), job.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Results(context.Background(), job.ID, load.ResultsOptions{Wait: time.Minute})
	if err != nil || rep.State != "done" {
		t.Fatalf("results after ready: %+v, %v", rep, err)
	}
}

// A job's saved state that cannot be read may be its unfinished run:
// Upload refuses to add records beside it (nothing sent), where before it
// overlooked the damaged manifest. Status still reads the job, and warns.
func TestUploadRefusesDamagedState(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 0)
	state := t.TempDir()
	input := writePeople(t, t.TempDir(), 50)
	l := loader(t, srv, state, t.TempDir())
	job, err := l.Create(context.Background(), "person/upsert", "")
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(state, strconv.FormatInt(job.ID, 10))
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, manifest.FileName), []byte(`{"version":`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = l.Upload(context.Background(), job.ID, load.Input{Path: input}, load.UploadOptions{})
	if err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), "nothing was sent") {
		t.Errorf("Upload beside a damaged manifest: %v; want a refusal naming it", err)
	}
	if n := total(srv, job.ID); n != 0 {
		t.Errorf("the job holds %d records; want 0", n)
	}
	var warned []string
	c, _ := api.NewClient(api.Config{APIKey: testKey, BaseURL: srv.URL})
	lw, _ := load.New(load.Config{Client: c, StateDir: state, Notify: func(e load.Event) {
		if e.Kind == load.Warning {
			warned = append(warned, e.Message)
		}
	}})
	if st, err := lw.Status(context.Background(), job.ID); err != nil || st.Job.ID != job.ID || len(warned) != 1 || !strings.Contains(warned[0], "damaged") {
		t.Errorf("Status: %+v, %v, warnings %q; want the job and one warning about the damaged manifest", st.Job, err, warned)
	}
}

// Wait bounds the wait for the job to be done, not the read of a done
// job's rows: before, a read slower than Wait was cut off with a
// WaitError saying the job "is not done (done, ...)".
func TestResultsWaitDoneJob(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 0)
	state, dir := t.TempDir(), t.TempDir()
	input := writePeople(t, t.TempDir(), 5000)
	rep, err := loader(t, srv, state, dir).Run(context.Background(), load.Input{Path: input}, load.RunOptions{Type: "person/upsert", NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	untilStored(t, srv, rep.JobID, 5000)
	srv.SetFaults(apitest.Faults{Latency: 50 * time.Millisecond}) // 50 pages: longer than Wait
	rep, err = loader(t, srv, state, dir).Results(context.Background(), rep.JobID, load.ResultsOptions{Wait: 200 * time.Millisecond})
	if err != nil || rep.Written != 5000 || rep.Succeeded != 5000 {
		t.Fatalf("results of a done job with Wait shorter than the read: wrote %d, %v; want all 5000 rows", rep.Written, err)
	}
}

// Two retries of one job at once: the second is refused at once (the
// first holds the job's lock), so the failures go into one new job, not
// two.
func TestTwoRetriesAtOnce(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: apitest.NoLimit, FailRecords: "@fail.example",
		Faults: apitest.Faults{Latency: 20 * time.Millisecond}})
	t.Cleanup(srv.Close)
	state, dir := t.TempDir(), t.TempDir()
	var b strings.Builder
	for i := range 600 {
		mark := "example.com"
		if i%2 == 0 {
			mark = "fail.example"
		}
		fmt.Fprintf(&b, `{"email_address":"p%d@%s","upsert_key":"email_address"}`+"\n", i, mark)
	}
	input := filepath.Join(t.TempDir(), "people.jsonl")
	os.WriteFile(input, []byte(b.String()), 0o600)
	first, err := loader(t, srv, state, dir).Run(context.Background(), load.Input{Path: input}, load.RunOptions{Type: "person/upsert"})
	if err != nil || first.Failed != 300 {
		t.Fatalf("run: %+v, %v; want 300 failures", first, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := loader(t, srv, state, dir).Retry(context.Background(), first.JobID, load.Input{}, load.RunOptions{})
		done <- err
	}()
	lock := filepath.Join(state, strconv.FormatInt(first.JobID, 10)+".lock")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if b, _ := os.ReadFile(lock); strings.Contains(string(b), `"retry"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first retry never took the job's lock")
		}
	}
	_, err = loader(t, srv, state, dir).Retry(context.Background(), first.JobID, load.Input{}, load.RunOptions{})
	if !errors.Is(err, load.ErrLocked) {
		t.Errorf("second retry at once: %v; want it refused with ErrLocked", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("first retry: %v", err)
	}
	if jobs := srv.Jobs(testKey); len(jobs) != 2 {
		t.Errorf("%d jobs; want the run's and one retry's", len(jobs))
	}
}
