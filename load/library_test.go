package load_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/load"
	"github.com/bulkload/bulkload/manifest"
)

// Jobs reads every page (the API lists oldest first) and gives the newest
// first, only in the states asked for, only the newest N when asked.
func TestJobs(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 0)
	l := loader(t, srv, "", t.TempDir())
	ctx := context.Background()
	const n = 2*api.MaxPerPage + 5 // three pages
	for i := range n {
		if _, err := l.Create(ctx, "person/upsert", "job "+string(rune('a'+i%26))+time.Now().Format(time.RFC3339Nano)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Ready(ctx, 3); err != nil {
		t.Fatal(err)
	}
	ids := func(jobs []api.Job) []int64 {
		var out []int64
		for _, j := range jobs {
			out = append(out, j.ID)
		}
		return out
	}
	all, err := l.Jobs(ctx, load.JobsOptions{})
	if err != nil || len(all) != n || all[0].ID != n || all[n-1].ID != 1 || !slices.IsSortedFunc(all, func(a, b api.Job) int { return int(b.ID - a.ID) }) {
		t.Fatalf("Jobs() = %d jobs %v, %v; want %d, newest first", len(all), ids(all)[:min(5, len(all))], err, n)
	}
	newest, err := l.Jobs(ctx, load.JobsOptions{Newest: 3})
	if want := []int64{n, n - 1, n - 2}; err != nil || !slices.Equal(ids(newest), want) {
		t.Errorf("Jobs(Newest 3) = %v, %v; want %v", ids(newest), err, want)
	}
	open, err := l.Jobs(ctx, load.JobsOptions{States: []api.State{api.StateOpen}})
	if err != nil || len(open) != n-1 || slices.Contains(ids(open), 3) {
		t.Errorf("Jobs(open) = %d jobs, holding job 3: %v, %v; want %d without job 3 (marked ready)", len(open), slices.Contains(ids(open), 3), err, n-1)
	}
}

// Status lists this machine's saved loads of the job, and not those of
// another job with the same id (made at another time, or on another
// server).
func TestStatusSavedLoads(t *testing.T) {
	t.Parallel()
	srv := emulator(t, 0)
	state, dir := t.TempDir(), t.TempDir()
	input := writePeople(t, t.TempDir(), 500)
	rep, err := loader(t, srv, state, dir).Run(context.Background(), load.Input{Path: input, BatchSize: 100}, load.RunOptions{Type: "person/upsert"})
	if err != nil {
		t.Fatal(err)
	}
	// Another job 1's upload, saved here from another server.
	other := &manifest.Manifest{JobID: rep.JobID, Run: &manifest.Run{Command: "upload", JobCreatedAt: "2001-01-01T00:00:00Z"}}
	if err := other.Save(filepath.Join(state, "1-upload-0123456789ab")); err != nil {
		t.Fatal(err)
	}
	st, err := loader(t, srv, state, dir).Status(context.Background(), rep.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Job.ID != rep.JobID || st.Job.State != api.StateDone {
		t.Errorf("Status job = %d %s; want %d done", st.Job.ID, st.Job.State, rep.JobID)
	}
	if len(st.Saved) != 1 || st.Saved[0].Manifest.Run.Command != "run" || st.Saved[0].Unfinished() || st.Saved[0].InDoubt() != 0 {
		t.Fatalf("Status saved = %+v; want only the finished run", st.Saved)
	}
	if u := st.Saved[0].Manifest.Upload; !u.Complete || u.AckedRecords != 500 || u.Batches != 5 {
		t.Errorf("saved run's upload = %+v; want complete, 500 records in 5 batches", u)
	}
}

// SavedJobs lists each job with saved state once, the most recently
// changed first; LastJob is the newest run or upload, never a results read.
func TestSavedJobs(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	now := time.Now()
	for _, d := range []struct {
		name string
		age  time.Duration
	}{{"9", 5 * time.Hour}, {"4-upload-0123456789ab", time.Hour}, {"9-results-abcdef", time.Minute}, {"4", 3 * time.Hour}, {"notajob", 0}} {
		if err := (&manifest.Manifest{}).Save(filepath.Join(state, d.name)); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(state, d.name, manifest.FileName)
		os.Chtimes(f, now.Add(-d.age), now.Add(-d.age))
	}
	if ids, err := load.SavedJobs(state); err != nil || !slices.Equal(ids, []int64{9, 4}) {
		t.Errorf("SavedJobs = %v, %v; want [9 4] (9's results read is newest)", ids, err)
	}
	if id, err := load.LastJob(state); err != nil || id != 4 {
		t.Errorf("LastJob = %d, %v; want 4 (its upload is the newest run or upload)", id, err)
	}
	if ids, err := load.SavedJobs(filepath.Join(state, "missing")); err != nil || ids != nil {
		t.Errorf("SavedJobs(missing dir) = %v, %v; want none, no error", ids, err)
	}
}

// The summary names what the operation did and leaves out what it did not.
func TestReportString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		rep       load.Report
		want, not []string
	}{
		{"upload again, nothing sent", load.Report{Command: "upload", JobID: 7, State: "open", Records: 300, Batches: 1, Uploaded: 300},
			[]string{"upload summary", "job          7 (open)", "300 valid in 1 batch ", "uploaded     300 (0 sent now, 300 stored before)"}, []string{"succeeded", "in doubt"}},
		{"run done", load.Report{Command: "run", JobID: 1, State: "done", Records: 10, Batches: 2, Uploaded: 10, Sent: 10, Succeeded: 9, Failed: 1, APICalls: 6},
			[]string{"2 batches", "uploaded     10\n", "succeeded    9", "failed       1", "api calls    6 (0 retries"}, []string{"sent now", "would cost"}},
		{"in doubt", load.Report{Command: "resume", JobID: 2, InDoubt: 40, Resume: "bulkload resume 2"},
			[]string{"in doubt     40 records sent without an answer", "resume with  bulkload resume 2"}, nil},
		{"dry run", load.Report{Command: "run", DryRun: true, Records: 5, Batches: 1, Cost: &load.Cost{Calls: 10, Upload: 1}},
			[]string{"run (dry run: no API calls) summary", "would cost   10 API calls: 1 uploads"}, []string{"api calls", "uploaded"}},
		{"errors only", load.Report{Command: "results", JobID: 3, State: "done", Failed: 4, ErrorsOnly: true},
			[]string{"failed       4 (errors-only: successes not fetched)"}, []string{"rejected", "uploaded"}},
	} {
		got := tt.rep.String()
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: summary lacks %q:\n%s", tt.name, w, got)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(got, w) {
				t.Errorf("%s: summary has %q:\n%s", tt.name, w, got)
			}
		}
	}
}

// The progress line says where the operation is, with the numbers of its
// phase.
func TestStatsString(t *testing.T) {
	t.Parallel()
	up := load.Stats{Phase: load.PhaseUpload, Checked: true, Elapsed: 2 * time.Second, BudgetRemaining: 512}
	up.Check.Records = 100000
	up.Upload.Records, up.Upload.Batches, up.Upload.Bytes = 40000, 8, 3<<20
	res := load.Stats{Phase: load.PhaseResults, BudgetRemaining: -1}
	res.Poll.Processed, res.Poll.Delivered, res.Poll.Total, res.Poll.Errors, res.Poll.State = 50, 70, 100, 3, "executing"
	for _, tt := range []struct {
		s    load.Stats
		want string
	}{
		{up, "uploading: 40000/100000 records (40%) · 8 batches · 3.0 MiB · 20.0k/s · ETA 3s · budget 512 left"},
		{res, "executing: 70/100 processed · 3 errors · 70 results saved · executing"},
		{load.Stats{Phase: load.PhaseCreate}, "creating the job…"},
	} {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Stats.String() = %q; want %q", got, tt.want)
		}
	}
}
