package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
)

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/out":      "/tmp/out",
		"my results":    "'my results'",
		"it's":          `'it'\''s'`,
		"":              "''",
		"$HOME/x":       "'$HOME/x'",
		"a-b_c.d/e=f,g": "a-b_c.d/e=f,g",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s; want %s", in, got, want)
		}
	}
}

// TestResultsResumes: an interrupted results command, run again alike,
// goes on from its saved cursor: every result row lands in the files
// exactly once, and the second run does not read the first one's pages
// again.
func TestResultsResumes(t *testing.T) {
	t.Parallel()
	for _, errorsOnly := range []bool{false, true} {
		name := "full"
		if errorsOnly {
			name = "errors-only"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, apitest.Config{ErrorRate: 0.3, Seed: 7})
			in := writePeople(t, 1500, nil)
			state := t.TempDir()
			r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--no-wait", "--json", "--state-dir", state, "--results-dir", t.TempDir(), in)
			if r.code != exitOK {
				t.Fatalf("run --no-wait: exit %d\n%s", r.code, r.stderr)
			}
			id := decodeSummary(t, r.stdout).JobID
			for j, _ := srv.Job(testKey, id); j.State != "done"; j, _ = srv.Job(testKey, id) {
				time.Sleep(5 * time.Millisecond)
			}
			job, _ := srv.Job(testKey, id)
			// A front that counts result pages (job_data in full mode,
			// results in errors-only mode) and stops the first read
			// after its third.
			target, _ := url.Parse(srv.URL)
			proxy := httputil.NewSingleHostReverseProxy(target)
			var pages atomic.Int32
			var stop atomic.Pointer[context.CancelFunc]
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				page := r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, "/results") || strings.HasSuffix(r.URL.Path, "/job_data"))
				if page && pages.Add(1) == 3 {
					if c := stop.Load(); c != nil {
						(*c)()
					}
				}
				proxy.ServeHTTP(w, r)
			}))
			t.Cleanup(front.Close)

			dir := t.TempDir()
			args := []string{"results", jobIDString(id), "--base-url", front.URL, "--state-dir", state, "--results-dir", dir, "--json"}
			if errorsOnly {
				args = append(args, "--errors-only")
				// Errors-only pages hold up to 100 errors: make three pages
				// a part of them.
				if job.Errors <= 300 {
					t.Fatalf("only %d errors; the test needs more than 3 pages", job.Errors)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stop.Store(&cancel)
			r = cli(t, ctx, nil, args...)
			if r.code != exitInterrupted {
				t.Fatalf("first read: exit %d; want 130 (pages %d)\n%s\n%s", r.code, pages.Load(), r.stderr, r.stdout)
			}
			s := decodeSummary(t, r.stdout)
			if want := "bulkload results " + jobIDString(id); !strings.HasPrefix(s.Resume, want) || !strings.Contains(s.Resume, "--results-dir "+dir) ||
				errorsOnly != strings.Contains(s.Resume, "--errors-only") {
				t.Errorf("resume command %q; want %s with these flags", s.Resume, want)
			}
			first := pages.Load()

			// The printed command, run as it is (with this test's environment:
			// its base URL and state directory), continues the read.
			stop.Store(nil)
			r = cli(t, context.Background(), nil, append(hintArgs(t, s.Resume), "--base-url", front.URL, "--state-dir", state, "--json")...)
			if r.code != exitPartial {
				t.Fatalf("second read: exit %d; want 3 (some records failed)\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "Continuing the results of job") {
				t.Errorf("stderr %q; want it to say it continues", r.stderr)
			}
			if s := decodeSummary(t, r.stdout); s.Succeeded != job.Processed-job.Errors || s.Failed != job.Errors {
				t.Errorf("second read's summary: %d succeeded, %d failed; want the job's %d and %d",
					s.Succeeded, s.Failed, job.Processed-job.Errors, job.Errors)
			}
			second := pages.Load() - first
			rows := readLines(t, dir+"/"+jobFile(id, "errors.jsonl"))
			wantRows := int(job.Errors)
			if !errorsOnly {
				rows = append(rows, readLines(t, dir+"/"+jobFile(id, "success.jsonl"))...)
				wantRows = int(job.Total)
			}
			seen := map[string]bool{}
			for _, row := range rows {
				if seen[row] {
					t.Fatalf("row twice: %s", row)
				}
				seen[row] = true
			}
			if len(rows) != wantRows {
				t.Errorf("files hold %d rows; want %d", len(rows), wantRows)
			}
			if all := (wantRows + 99) / 100; int(second) > all-1 {
				t.Errorf("second read fetched %d pages of %d; want the first read's not fetched again", second, all)
			}
		})
	}
}

// TestResumeNoWaitOfFinishedJob: resume --no-wait of a job that finished
// meanwhile reports its outcome (and exit 3 for its failures) rather than
// zeros, and -q keeps stderr empty.
func TestResumeNoWaitOfFinishedJob(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 200, func(i int) bool { return i%10 == 0 })
	state := t.TempDir()
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--no-wait", "--state-dir", state, "--results-dir", t.TempDir(), "--json", in)
	if r.code != exitOK {
		t.Fatalf("run --no-wait: exit %d\n%s", r.code, r.stderr)
	}
	id := decodeSummary(t, r.stdout).JobID
	for j, _ := srv.Job(testKey, id); j.State != "done"; j, _ = srv.Job(testKey, id) {
		time.Sleep(5 * time.Millisecond)
	}
	r = cli(t, context.Background(), srv, "resume", jobIDString(id), "--no-wait", "--state-dir", state, "--json", "-q")
	if r.code != exitPartial {
		t.Fatalf("resume --no-wait: exit %d; want 3 (20 records failed)\n%s", r.code, r.stderr)
	}
	if s := decodeSummary(t, r.stdout); s.State != "done" || s.Succeeded != 180 || s.Failed != 20 {
		t.Errorf("summary = %+v; want done, 180 succeeded, 20 failed", s)
	}
	if r.stderr != "" {
		t.Errorf("stderr with -q: %q; want nothing", r.stderr)
	}
}

// TestResultsWithoutState: results reads a job even when its progress
// cannot be kept (the state directory is a file), with a warning.
func TestResultsWithoutState(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 120, nil)
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--json", "--results-dir", t.TempDir(), in)
	if r.code != exitOK {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	id := decodeSummary(t, r.stdout).JobID
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r = cli(t, context.Background(), srv, "results", jobIDString(id), "--state-dir", notDir, "--results-dir", t.TempDir(), "--json")
	if r.code != exitOK || !strings.Contains(r.stderr, "warning") {
		t.Fatalf("results: exit %d, stderr %q; want 0 with a warning", r.code, r.stderr)
	}
	if s := decodeSummary(t, r.stdout); s.Succeeded != 120 || len(readLines(t, s.Files.Success)) != 120 {
		t.Errorf("summary %+v; want 120 results read", s)
	}
}
