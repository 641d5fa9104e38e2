package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/manifest"
)

// command returns the built binary as a command with srv in its
// environment, and the state directory it uses.
func command(t *testing.T, srv *apitest.Server, state string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	if binary == "" {
		t.Fatal("the bulkload binary did not build")
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SALESLOFT_API_KEY="+testKey, "SALESLOFT_BASE_URL="+srv.URL, "XDG_STATE_HOME="+state)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

// waitAcked waits until the one run in state has stored at least n batches.
func waitAcked(t *testing.T, state string, n int) int64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		dirs, _ := filepath.Glob(filepath.Join(state, "bulkload", "*", manifest.FileName))
		if len(dirs) == 1 {
			if m, err := manifest.Load(filepath.Dir(dirs[0])); err == nil && m.Upload.AckedBelow >= n {
				return m.JobID
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no run stored %d batches within 30 s", n)
	return 0
}

// TestInterruptThenResume stops a real process with SIGINT or SIGTERM in
// the middle of its upload, then resumes it: exit 130 with the resume
// command, then every record stored exactly once in the one job.
func TestInterruptThenResume(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 30 * time.Millisecond}})
			in := writePeople(t, 3000, nil)
			state, results := t.TempDir(), t.TempDir()
			cmd, _, errb := command(t, srv, state, "run", "--type", "person/upsert", "--batch-size", "50", "--workers", "2",
				"--rate-limit", "100000", "--rate-window", "1s", "--results-dir", results, in)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			id := waitAcked(t, state, 5)
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
				t.Fatalf("exit %d (%v); want 130\n%s", code, err, errb)
			}
			want := fmt.Sprintf("interrupted; continue with: bulkload resume %d\n", id)
			if !strings.HasSuffix(errb.String(), want) {
				t.Fatalf("stderr %q; want it to end %q", errb, want)
			}
			if n := len(srv.Records(testKey, id)); n == 0 || n >= 3000 {
				t.Errorf("job holds %d records after the interrupt; want some, not all", n)
			}
			// The printed command, as it is.
			resume, out, errb := command(t, srv, state, append(hintArgs(t, strings.TrimSpace(want[len("interrupted; continue with: "):])),
				"--json", "--rate-limit", "100000", "--rate-window", "1s")...)
			resume.Run()
			if code := resume.ProcessState.ExitCode(); code != exitOK {
				t.Fatalf("resume: exit %d; want 0\n%s", code, errb)
			}
			s := decodeSummary(t, out.String())
			if s.JobID != id || s.Succeeded+s.Failed == 0 || s.State != "done" {
				t.Errorf("resume summary %+v; want job %d done", s, id)
			}
			storedOnce(t, srv, id, in)
			if jobs := srv.Jobs(testKey); len(jobs) != 1 {
				t.Errorf("%d jobs; want 1 (resume never creates a job)", len(jobs))
			}
			// Results from both processes: every record once.
			rows := readLines(t, filepath.Join(results, fmt.Sprintf("%d-success.jsonl", id)))
			if len(rows) != 3000 {
				t.Errorf("success file has %d rows; want 3000", len(rows))
			}
		})
	}
}

// TestResumeRefusesChangedInput: a resume against a file that changed
// since the run began is refused, naming the difference.
func TestResumeRefusesChangedInput(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 20 * time.Millisecond}})
	in := writePeople(t, 2000, nil)
	state := filepath.Join(t.TempDir(), "state")
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": state}
	var out, errb strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // interrupt once the job holds some records
		for len(srv.Jobs(testKey)) == 0 || srv.Jobs(testKey)[0].Total < 100 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	code := Main(ctx, []string{"run", "--type", "person/upsert", "--batch-size", "50", "--workers", "1", "--results-dir", t.TempDir(), in},
		Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	if code != exitInterrupted {
		t.Fatalf("run: exit %d; want 130\n%s", code, errb.String())
	}
	os.WriteFile(in, []byte(`{"email_address":"other@x.io"}`+"\n"), 0o600)
	errb.Reset()
	code = Main(context.Background(), []string{"resume", "--last"}, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	// It says what changed: the size, and that the stored batches are gone.
	if code != exitFailed || !strings.Contains(errb.String(), "changed since job 1's upload of it began (31 bytes, was ") ||
		!strings.Contains(errb.String(), "it now ends before batch") {
		t.Errorf("resume of a changed file: exit %d, %q; want 1 and what changed", code, errb.String())
	}
	if n := len(srv.Records(testKey, 1)); n%50 != 0 || n == 0 {
		t.Errorf("job holds %d records after the refusal; want the whole batches of the first run only", n)
	}
}

// TestServe runs 'bulkload serve' as a process and walks the documented
// flow through it: create, upload 2 records, ready, poll, done, results.
func TestServe(t *testing.T) {
	t.Parallel()
	if binary == "" {
		t.Fatal("the bulkload binary did not build")
	}
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--api-key", "secret", "--process-rate", "-1")
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if !strings.Contains(errb.String(), "path=/v2/bulk_jobs") {
			t.Errorf("serve logged no request lines:\n%s", errb.String())
		}
		if strings.Contains(errb.String(), "secret") {
			t.Errorf("serve logged the API key")
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("serve printed %q; want its base URL", line)
	}
	base := strings.TrimSpace(line[i:])
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("serve listens on %s; want loopback", base)
	}
	do := func(method, path, key, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.Header.Get("x-ratelimit-remaining-minute") == "" {
			t.Errorf("%s %s: no x-ratelimit-remaining-minute header", method, path)
		}
		return resp.StatusCode, v
	}
	if code, _ := do("GET", "/v2/bulk_jobs", "wrong", ""); code != 401 {
		t.Errorf("wrong key: %d; want 401", code)
	}
	code, v := do("POST", "/v2/bulk_jobs", "secret", `{"type":"person/upsert"}`)
	if code != 200 {
		t.Fatalf("create: %d %v", code, v)
	}
	id := int64(v["data"].(map[string]any)["id"].(float64))
	code, v = do("POST", fmt.Sprintf("/v2/bulk_jobs/%d/job_data", id), "secret",
		`{"data":[{"email_address":"test@gmail.com","first_name":"Test","upsert_key":"email_address"},{"email_address":"test@gmail.com","first_name":"Test Second Maybe","upsert_key":"email_address"}]}`)
	if code != 200 || v["data"].(map[string]any)["records"].(float64) != 2 {
		t.Fatalf("job_data: %d %v", code, v)
	}
	code, v = do("PUT", fmt.Sprintf("/v2/bulk_jobs/%d", id), "secret", `{"ready_to_execute":true}`)
	if code != 200 || v["data"].(map[string]any)["state"] != "executing" {
		t.Fatalf("ready: %d %v", code, v)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, v = do("GET", fmt.Sprintf("/v2/bulk_jobs/%d", id), "secret", "")
		if v["data"].(map[string]any)["state"] == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not done: %v", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, v = do("GET", fmt.Sprintf("/v2/bulk_jobs/%d/results?per_page=100", id), "secret", "")
	if rows := v["data"].([]any); len(rows) != 2 {
		t.Errorf("results: %v; want 2 rows", v)
	}
}
