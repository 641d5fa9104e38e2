package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunStdin: "-" reads standard input, plain or gzipped, in one pass:
// every valid record is stored once, and the rejects, some seen before the
// job existed, end up in the job's rejects file.
func TestRunStdin(t *testing.T) {
	t.Parallel()
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, apitestConfig())
			in := writePeople(t, 1200, nil)
			valid, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			// One bad line in the first batch (read before the job is
			// created) and one in the last.
			lines := strings.SplitAfter(string(valid), "\n")
			data := strings.Join(lines[:10], "") + "not json\n" + strings.Join(lines[10:], "") + "[1]\n"
			var stdin bytes.Buffer
			if gz {
				w := gzip.NewWriter(&stdin)
				w.Write([]byte(data))
				w.Close()
			} else {
				stdin.WriteString(data)
			}
			dir := t.TempDir()
			r := cliStdin(t, context.Background(), srv, &stdin, "run", "--type", "person/upsert", "--format", "jsonl",
				"--batch-size", "500", "--max-rejects", "5", "--results-dir", dir, "--json", "-")
			if r.code != exitPartial {
				t.Fatalf("exit %d; want 3 (rejects)\n%s", r.code, r.stderr)
			}
			s := decodeSummary(t, r.stdout)
			if s.Records != 1200 || s.Batches != 3 || s.Uploaded != 1200 || s.Succeeded != 1200 || s.Rejected != 2 {
				t.Errorf("summary = %+v; want 1200 records in 3 batches, all succeeded, 2 rejected", s)
			}
			storedOnce(t, srv, s.JobID, in)
			if s.Bytes < int64(len(valid)) {
				t.Errorf("summary bytes = %d; want the %d bytes of the request bodies", s.Bytes, len(valid))
			}
			if j, _ := srv.Job(testKey, s.JobID); j.Name == nil || !strings.HasPrefix(*j.Name, "bulkload stdin ") {
				t.Errorf("job name %v; want it to say the input was stdin", j.Name)
			}
			if filepath.Base(s.Files.Rejects) != jobFile(s.JobID, "rejects.jsonl") {
				t.Errorf("rejects file %s; want <job id>-rejects.jsonl", s.Files.Rejects)
			}
			rej := readLines(t, s.Files.Rejects)
			if len(rej) != 2 || !strings.Contains(rej[0], `"source":"stdin","line":11`) || !strings.Contains(rej[1], `"line":1202`) {
				t.Errorf("rejects = %q; want stdin lines 11 and 1202", rej)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 2 {
				t.Errorf("results dir holds %d files; want success and rejects only (no failures: no errors file)", len(entries))
			}
		})
	}
}

// TestRunStdinNothingToLoad: standard input cannot be checked before the
// job is created, but its first batch is read first, so an empty input, or
// one whose records are all bad, fails without leaving an empty job.
func TestRunStdinNothingToLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stdin string
		args        []string
		wantErr     string
		wantRejects int
	}{
		{"empty", "", nil, "standard input holds no records", 0},
		{"blank lines", "\n\n", nil, "standard input holds no records", 0},
		{"CSV header only", "email_address,first_name\n", []string{"--format", "csv"}, "standard input holds no records", 0},
		{"all rejected", "not json\n[1]\n", []string{"--format", "jsonl", "--max-rejects", "-1"}, "standard input holds no valid records: all 2 were rejected", 2},
		{"wrong format", "email_address,first_name\na@b.c,A\n", []string{"--format", "jsonl"}, "stdin:1:1:", 0},
		// CSV is recognised on stdin; bytes that are not text are not.
		{"undetectable format", "\x00\x01\x02\n", nil, "cannot detect input format", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, apitestConfig())
			dir := t.TempDir()
			args := append([]string{"run", "--type", "person/upsert", "--results-dir", dir, "--json"}, tt.args...)
			r := cliStdin(t, context.Background(), srv, strings.NewReader(tt.stdin), append(args, "-")...)
			if r.code != exitFailed {
				t.Fatalf("exit %d; want 1\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr+r.stdout, tt.wantErr) {
				t.Errorf("output %q %q; want it to say %q", r.stdout, r.stderr, tt.wantErr)
			}
			if jobs := srv.Jobs(testKey); len(jobs) != 0 {
				t.Errorf("%d jobs created; want none", len(jobs))
			}
			if tt.wantRejects == 0 {
				return
			}
			rows := readLines(t, filepath.Join(dir, "stdin-rejects.jsonl"))
			if len(rows) != tt.wantRejects {
				t.Errorf("stdin-rejects.jsonl has %d rows; want %d", len(rows), tt.wantRejects)
			}
		})
	}
}

// TestUploadStdin: upload --job reads standard input into an existing
// open job, keeps it open, and an empty stdin adds nothing.
func TestUploadStdin(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	id := createOpenJob(t, srv)
	in := writePeople(t, 700, nil)
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := cliStdin(t, context.Background(), srv, f, "upload", "--job", jobIDString(id), "--batch-size", "300", "--results-dir", t.TempDir(), "--json", "-")
	if r.code != exitOK {
		t.Fatalf("upload: exit %d; want 0\n%s", r.code, r.stderr)
	}
	if s := decodeSummary(t, r.stdout); s.Uploaded != 700 || s.Batches != 3 {
		t.Errorf("summary = %+v; want 700 uploaded in 3 batches", s)
	}
	storedOnce(t, srv, id, in)
	r = cliStdin(t, context.Background(), srv, strings.NewReader(""), "upload", "--job", jobIDString(id), "--results-dir", t.TempDir(), "-")
	if r.code != exitFailed || !strings.Contains(r.stderr, "standard input holds no records") {
		t.Errorf("empty upload: exit %d %q; want 1, no records", r.code, r.stderr)
	}
	if j, _ := srv.Job(testKey, id); j.State != "open" || j.Total != 700 {
		t.Errorf("job = %s with %d records; want open with 700", j.State, j.Total)
	}
}
