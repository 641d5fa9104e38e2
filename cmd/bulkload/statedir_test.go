package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Job ids repeat: another server has its own job 1, and an emulator starts
// again from 1 each time. These tests run a second, fresh emulator against
// the state directory the first one left, where a saved run of "job 1" is
// of another job. Taken for this job's, it would skip every batch as
// stored while the job holds none.

// runsOnFirstServer runs the commands against a first emulator, sharing
// one state directory, and returns that directory.
func runsOnFirstServer(t *testing.T, cmds ...[]string) string {
	t.Helper()
	state := t.TempDir()
	srv := emulator(t, apitestConfig())
	for _, args := range cmds {
		if args[0] == "create" {
			createOpenJob(t, srv)
			continue
		}
		r := cli(t, context.Background(), srv, append(args, "--state-dir", state)...)
		if r.code != exitOK {
			t.Fatalf("first server: %v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	return state
}

func TestRunSetsAsideAnotherJobsState(t *testing.T) {
	t.Parallel()
	in := writePeople(t, 300, nil)
	run := []string{"run", "--type", "person/upsert", "--batch-size", "100", "--results-dir", t.TempDir(), in}
	state := runsOnFirstServer(t, run)

	srv := emulator(t, apitestConfig()) // its first job is job 1 again
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--batch-size", "100",
		"--results-dir", t.TempDir(), "--state-dir", state, "--json", in)
	if r.code != exitOK {
		t.Fatalf("exit %d; want 0\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if s.JobID != 1 || s.Succeeded != 300 {
		t.Errorf("summary = %+v; want job 1 with 300 succeeded", s)
	}
	storedOnce(t, srv, s.JobID, in)
	if !strings.Contains(r.stderr, "held the saved run of another job 1") {
		t.Errorf("stderr %q; want a warning that the old state was moved aside", r.stderr)
	}
	aside, _ := filepath.Glob(filepath.Join(state, "1.replaced-*", "manifest.json"))
	if len(aside) != 1 {
		t.Errorf("set-aside manifests %v; want the first server's, kept", aside)
	}
}

func TestUploadSetsAsideAnotherJobsState(t *testing.T) {
	t.Parallel()
	in := writePeople(t, 300, nil)
	upload := []string{"upload", "--job", "1", "--batch-size", "100", "--results-dir", t.TempDir(), in}
	state := runsOnFirstServer(t, []string{"create"}, upload)

	srv := emulator(t, apitestConfig())
	id := createOpenJob(t, srv)
	r := cli(t, context.Background(), srv, "upload", "--job", jobIDString(id), "--batch-size", "100",
		"--results-dir", t.TempDir(), "--state-dir", state, "--json", in)
	if r.code != exitOK {
		t.Fatalf("exit %d; want 0\n%s", r.code, r.stderr)
	}
	storedOnce(t, srv, id, in)
	if !strings.Contains(r.stderr, "held the saved run of another job 1") {
		t.Errorf("stderr %q; want a warning that the old state was moved aside", r.stderr)
	}
	// The same upload again, on the same server, is this job's: skipped.
	r = cli(t, context.Background(), srv, "upload", "--job", jobIDString(id), "--batch-size", "100",
		"--results-dir", t.TempDir(), "--state-dir", state, in)
	if r.code != exitOK || strings.Contains(r.stderr, "another job") {
		t.Fatalf("second upload: exit %d\n%s", r.code, r.stderr)
	}
	storedOnce(t, srv, id, in)
}

func TestResumeRefusesAnotherJobsRun(t *testing.T) {
	t.Parallel()
	in := writePeople(t, 300, nil)
	// --no-wait leaves a saved run that resume would continue (poll).
	run := []string{"run", "--type", "person/upsert", "--no-wait", "--results-dir", t.TempDir(), in}
	state := runsOnFirstServer(t, run)

	srv := emulator(t, apitestConfig())
	id := createOpenJob(t, srv)
	r := cli(t, context.Background(), srv, "resume", jobIDString(id), "--state-dir", state)
	if r.code != exitFailed || !strings.Contains(r.stderr, "is of another job 1") {
		t.Fatalf("resume: exit %d %q; want 1, naming the mismatch", r.code, r.stderr)
	}
	if j, _ := srv.Job(testKey, id); j.State != "open" || j.Total != 0 {
		t.Errorf("job = %s with %d records; want it untouched", j.State, j.Total)
	}
	if _, err := os.Stat(filepath.Join(state, "1", "manifest.json")); err != nil {
		t.Errorf("the saved run: %v; want it left where it was", err)
	}
}

// TestStatusShowsSavedRun: status tells what this machine's saved run of
// the job has done and how to continue it, and says nothing of a saved
// run that is another job's with the same id.
func TestStatusShowsSavedRun(t *testing.T) {
	t.Parallel()
	in := writePeople(t, 130, nil)
	state := runsOnFirstServer(t, []string{"run", "--type", "person/upsert", "--no-wait", "--batch-size", "50", "--results-dir", t.TempDir(), in})
	// runsOnFirstServer's emulator is gone; a second one with its own
	// job 1 must not be taken for it.
	srv := emulator(t, apitestConfig())
	createOpenJob(t, srv)
	if r := cli(t, context.Background(), srv, "status", "1", "--state-dir", state); r.code != exitOK || strings.Contains(r.stdout, "saved run") {
		t.Errorf("status of another job 1: exit %d\n%s; want no saved run", r.code, r.stdout)
	}

	srv = emulator(t, apitestConfig())
	state = t.TempDir()
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--no-wait", "--batch-size", "50", "--results-dir", t.TempDir(), "--state-dir", state, "--json", in)
	if r.code != exitOK {
		t.Fatalf("run --no-wait: exit %d\n%s", r.code, r.stderr)
	}
	id := jobIDString(decodeSummary(t, r.stdout).JobID)
	r = cli(t, context.Background(), srv, "status", id, "--state-dir", state)
	for _, want := range []string{"saved run", "upload      complete, 130 records in 3 batches", "continue    bulkload results " + id} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status:\n%s\nwant a line with %q", r.stdout, want)
		}
	}
	// Once read, status says where the results are.
	out := t.TempDir()
	if r := cli(t, context.Background(), srv, "results", id, "--state-dir", state, "--results-dir", out, "--results-format", "csv"); r.code != exitOK {
		t.Fatalf("results: exit %d\n%s", r.code, r.stderr)
	}
	r = cli(t, context.Background(), srv, "status", id, "--state-dir", state)
	var files []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "files" {
			files = append(files, f[1])
		}
	}
	if want := filepath.Join(out, id+"-*.csv"); !strings.Contains(r.stdout, "saved results") || !slices.Equal(files, []string{want}) {
		t.Errorf("status after results:\n%s\nwant one files line, %s (the run that did not wait wrote none)", r.stdout, want)
	}
}
