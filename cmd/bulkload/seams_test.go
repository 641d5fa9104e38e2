package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
)

// The seams between commands and processes, through the command line:
// each of these stored records twice before the job lock and the checks
// of saved state (20,000-record file, --batch-size 250, Ctrl-C at a
// quarter: two resumes at once ended with 34,250 records).

// interruptRun runs `bulkload run` and interrupts it once the job holds
// `stored` records; it returns the environment the next commands share.
func interruptRun(t *testing.T, srv *apitest.Server, in string, stored int) map[string]string {
	t.Helper()
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for len(srv.Jobs(testKey)) == 0 || srv.Jobs(testKey)[0].Total < int64(stored) {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	r := runMain(t, ctx, env, nil, "run", "--type", "person/upsert", "--batch-size", "250", "--results-dir", t.TempDir(), in)
	if r.code != exitInterrupted {
		t.Fatalf("run: exit %d; want 130\n%s", r.code, r.stderr)
	}
	return env
}

func TestCLITwoResumesAtOnce(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 30 * time.Millisecond}})
	in := writePeople(t, 4000, nil)
	env := interruptRun(t, srv, in, 500)
	done := make(chan result, 1)
	go func() { done <- runMain(t, context.Background(), env, nil, "resume", "1") }()
	lock := filepath.Join(env["XDG_STATE_HOME"], "bulkload", "1.lock")
	for { // the first resume has taken the lock once it has written its PID there
		if b, _ := os.ReadFile(lock); strings.Contains(string(b), `"resume"`) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	r := runMain(t, context.Background(), env, nil, "resume", "1")
	want := fmt.Sprintf("bulkload: job 1 is in use by PID %d on ", os.Getpid())
	if r.code != exitFailed || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "(resume) since ") {
		t.Errorf("second resume: exit %d, stderr %q; want 1 and one line starting %q", r.code, r.stderr, want)
	}
	if first := <-done; first.code != exitOK {
		t.Fatalf("first resume: exit %d\n%s", first.code, first.stderr)
	}
	storedOnce(t, srv, 1, in)
}

func TestCLIUploadIntoInterruptedRun(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 20 * time.Millisecond}})
	in := writePeople(t, 2000, nil)
	env := interruptRun(t, srv, in, 250)
	held := len(srv.Records(testKey, 1))
	r := runMain(t, context.Background(), env, nil, "upload", "--job", "1", "--batch-size", "250", in)
	if r.code != exitFailed || !strings.Contains(r.stderr, "has an unfinished run of") || !strings.Contains(r.stderr, "(bulkload resume 1)") {
		t.Errorf("upload into an interrupted run: exit %d\n%s\nwant 1 naming bulkload resume 1", r.code, r.stderr)
	}
	if n := len(srv.Records(testKey, 1)); n != held {
		t.Fatalf("the refused upload changed the job from %d to %d records", held, n)
	}
	// A second `run` of the same file is refused too, naming resume.
	r = runMain(t, context.Background(), env, nil, "run", "--type", "person/upsert", "--batch-size", "250", in)
	if r.code != exitFailed || !strings.Contains(r.stderr, "bulkload resume 1 continues it; --new-job starts another job") || len(srv.Jobs(testKey)) != 1 {
		t.Errorf("run of a file with an unfinished run: exit %d, %d jobs\n%s", r.code, len(srv.Jobs(testKey)), r.stderr)
	}
	if r := runMain(t, context.Background(), env, nil, "resume", "1"); r.code != exitOK {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	storedOnce(t, srv, 1, in)
}

func TestCLIUploadEditedFile(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 20 * time.Millisecond}})
	in := writePeople(t, 2000, nil)
	id := createOpenJob(t, srv)
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(srv.Records(testKey, id)) < 250 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	args := []string{"upload", "--job", fmt.Sprint(id), "--batch-size", "250", in}
	r := runMain(t, ctx, env, nil, args...)
	hint := fmt.Sprintf("continue with: bulkload upload --job %d --batch-size 250 %s", id, shellQuote(in))
	if r.code != exitInterrupted || !strings.Contains(r.stderr, hint) {
		t.Fatalf("upload: exit %d; want 130 and %q\n%s", r.code, hint, r.stderr)
	}
	held := len(srv.Records(testKey, id))
	f, _ := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"email_address":"late@example.com","upsert_key":"email_address"}` + "\n")
	f.Close()
	r = runMain(t, context.Background(), env, nil, args...)
	if r.code != exitFailed || !strings.Contains(r.stderr, "changed since job 1's upload of it began") || !strings.Contains(r.stderr, "nothing was sent") {
		t.Errorf("upload of the edited file: exit %d\n%s\nwant 1 saying what changed", r.code, r.stderr)
	}
	if n := len(srv.Records(testKey, id)); n != held {
		t.Fatalf("the refused upload changed the job from %d to %d records", held, n)
	}
	// The file as it was: the command the interruption printed continues.
	lines := readLines(t, in)
	os.WriteFile(in, []byte(strings.Join(lines[:len(lines)-1], "\n")+"\n"), 0o600)
	if r := runMain(t, context.Background(), env, nil, hintArgs(t, hint[len("continue with: "):])...); r.code != exitOK {
		t.Fatalf("the printed upload command: exit %d\n%s", r.code, r.stderr)
	}
	storedOnce(t, srv, id, in)
}

// hintArgs splits a command bulkload printed ("bulkload upload --job 1
// 'my file.csv'") into the arguments of Main, as a POSIX shell would.
func hintArgs(t *testing.T, line string) []string {
	t.Helper()
	var args []string
	var cur strings.Builder
	inQuote, any := false, false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\'':
			inQuote, any = !inQuote, true
		case c == ' ' && !inQuote:
			if any {
				args = append(args, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteByte(c)
			any = true
		}
	}
	if any {
		args = append(args, cur.String())
	}
	if len(args) == 0 || args[0] != "bulkload" {
		t.Fatalf("%q is not a bulkload command", line)
	}
	return args[1:]
}

// A moved input: resume says how to continue, and --input continues it.
func TestCLIResumeMovedInput(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 20 * time.Millisecond}})
	in := writePeople(t, 2000, nil)
	env := interruptRun(t, srv, in, 250)
	moved := filepath.Join(t.TempDir(), "moved.jsonl")
	if err := os.Rename(in, moved); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, context.Background(), env, nil, "resume", "1")
	if r.code != exitFailed || !strings.Contains(r.stderr, "is gone (the job holds ") || !strings.HasSuffix(r.stderr, "(bulkload resume 1 --input NEW_PATH)\n") {
		t.Fatalf("resume of a moved input: exit %d\n%s\nwant 1 and the --input hint", r.code, r.stderr)
	}
	if r := runMain(t, context.Background(), env, nil, "resume", "1", "--input", moved); r.code != exitOK {
		t.Fatalf("resume --input: exit %d\n%s", r.code, r.stderr)
	}
	storedOnce(t, srv, 1, moved)
}

// jobs --limit N shows the newest N, newest first; status --last shows the
// job of the last saved load.
func TestJobsNewestAndStatusLast(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{})
	for range 105 { // more than a page
		createOpenJob(t, srv)
	}
	r := cli(t, context.Background(), srv, "jobs", "--limit", "2")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != exitOK || len(lines) != 3 || !strings.HasPrefix(lines[1], "105 ") || !strings.HasPrefix(lines[2], "104 ") {
		t.Fatalf("jobs --limit 2: exit %d\n%s\nwant jobs 105 and 104", r.code, r.stdout)
	}
	in := writePeople(t, 10, nil)
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": t.TempDir()}
	if r := runMain(t, context.Background(), env, nil, "upload", "--job", "7", in); r.code != exitOK {
		t.Fatalf("upload: exit %d\n%s", r.code, r.stderr)
	}
	r = runMain(t, context.Background(), env, nil, "status", "--last")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "job           7\n") || !strings.Contains(r.stdout, "saved upload") {
		t.Errorf("status --last: exit %d\n%s%s\nwant job 7 and its saved upload", r.code, r.stdout, r.stderr)
	}
}
