package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/load"
	"github.com/bulkload/bulkload/manifest"
)

// TestSoakEveryFault runs many small jobs at once through the whole CLI
// against one emulator with every fault on: 5xx and resets before and
// after the batch is stored, stalled answers, 5xx and 429 on reads,
// latency and jitter. Every job must end done, hold each of its records
// exactly once, and have each record's result once in its success file.
func TestSoakEveryFault(t *testing.T) {
	t.Parallel()
	const (
		jobs     = 12
		parallel = 6
	)
	srv := emulator(t, apitest.Config{Seed: 11, Faults: apitest.Faults{
		ErrorBeforeStore: 0.06, ResetBeforeStore: 0.06,
		ErrorAfterStore: 0.06, ResetAfterStore: 0.06, StallAfterStore: 0.06, StallDuration: 150 * time.Millisecond,
		ErrorOnGet: 0.06, RateLimitOnGet: 0.06,
		Latency: 2 * time.Millisecond, Jitter: 8 * time.Millisecond,
	}})
	start := time.Now()
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	ids := make([]int64, jobs)
	inputs := make([]string, jobs)
	for i := range jobs {
		inputs[i] = writePeople(t, 150+40*i, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--batch-size", "20", "--workers", "4",
				"--results-dir", t.TempDir(), "--json", inputs[i])
			if r.code != exitOK {
				t.Errorf("job %d: exit %d; want 0\n%s", i, r.code, r.stderr)
				return
			}
			// Not decodeSummary nor readLines: they may call t.Fatal,
			// which only the test's own goroutine may.
			var s load.Report
			if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
				t.Errorf("job %d: summary %q: %v", i, r.stdout, err)
				return
			}
			ids[i] = s.JobID
			if want := int64(150 + 40*i); s.Succeeded != want || s.State != "done" {
				t.Errorf("job %d: %d succeeded, state %s; want %d, done", i, s.Succeeded, s.State, want)
			}
			b, _ := os.ReadFile(s.Files.Success)
			if rows := strings.Split(strings.TrimSpace(string(b)), "\n"); len(rows) != int(s.Records) || !uniqueIDs(rows) {
				t.Errorf("job %d: success file has %d rows (ids unique: %v); want %d, each once", i, len(rows), uniqueIDs(rows), s.Records)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, id := range ids {
		storedOnce(t, srv, id, inputs[i])
	}
	if n := len(srv.Jobs(testKey)); n != jobs {
		t.Errorf("%d jobs created; want %d", n, jobs)
	}
	st := srv.Stats()
	t.Logf("%d jobs in %v; faults injected: %v", jobs, time.Since(start).Round(time.Millisecond), st.Faults)
	for k := apitest.FaultErrorBeforeStore; k <= apitest.FaultRateLimitOnGet; k++ {
		if st.Faults[k] == 0 {
			t.Errorf("fault %v was never injected; the soak does not test it", k)
		}
	}
}

// uniqueIDs reports whether the result rows have distinct ids.
func uniqueIDs(rows []string) bool {
	seen := map[int64]bool{}
	for _, r := range rows {
		var v struct{ ID int64 }
		if json.Unmarshal([]byte(r), &v) != nil || seen[v.ID] {
			return false
		}
		seen[v.ID] = true
	}
	return true
}

// TestSecondSignalQuits: SIGTERM, like Ctrl-C, first stops a run
// cleanly, waiting for the calls under way; a second one quits at once,
// even while the server withholds the answers of stored batches. What
// the manifest then says is enough: a resume stores every record exactly
// once. (TestInterruptThenResume covers the first signal alone.)
func TestSecondSignalQuits(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 10 * time.Millisecond, StallDuration: time.Minute}})
	in := writePeople(t, 3000, nil)
	state, results := t.TempDir(), t.TempDir()
	cmd, _, errb := command(t, srv, state, "run", "--type", "person/upsert", "--batch-size", "50", "--workers", "2",
		"--rate-limit", "100000", "--rate-window", "1s", "--results-dir", results, in)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id := waitAcked(t, state, 3)
	srv.FailNext(apitest.FaultStallAfterStore, 2) // both workers' next batches: stored, answer withheld
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	quit := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d; want 130\n%s", code, errb)
	}
	if d := time.Since(quit); d > 3*time.Second {
		t.Errorf("the second SIGTERM took %v to quit; want at once", d)
	}
	if !strings.Contains(errb.String(), "again to quit at once") {
		t.Errorf("stderr %q; want the first signal to say a second one quits", errb)
	}
	// The second signal names the command that continues, which works.
	hint := fmt.Sprintf("quit at once; what was saved is safe: continue with: bulkload resume %d\n", id)
	if !strings.HasSuffix(errb.String(), hint) {
		t.Fatalf("stderr %q; want it to end with %q", errb, hint)
	}
	r := cli(t, context.Background(), srv, append(hintArgs(t, strings.TrimSpace(hint[strings.Index(hint, "bulkload "):])), "--state-dir", filepath.Join(state, "bulkload"), "--json")...)
	if r.code != exitOK {
		t.Fatalf("resume: exit %d; want 0\n%s", r.code, r.stderr)
	}
	storedOnce(t, srv, id, in)
}

// TestResultsDiskFull: the success file is /dev/full (a symlink where
// the file goes), so writing results fails with ENOSPC: the run stops with
// one clear line naming the file, the manifest stays valid, and a resume
// once there is room delivers every result exactly once.
func TestResultsDiskFull(t *testing.T) {
	t.Parallel()
	needDevFull(t)
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 800, nil)
	state, results := t.TempDir(), t.TempDir()
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": state}
	full := filepath.Join(results, "1-success.jsonl") // the emulator's first job is 1
	if err := os.Symlink("/dev/full", full); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, context.Background(), env, []string{testKey}, "run", "--type", "person/upsert", "--results-dir", results, "--json", in)
	if r.code != exitFailed {
		t.Fatalf("run with a full disk: exit %d; want 1\n%s", r.code, r.stderr)
	}
	// stderr: "Created bulk job 1 (...)", then the error.
	if last := lastLine(r.stderr); !strings.HasPrefix(last, "bulkload: reading the results of job 1: ") || !strings.HasSuffix(last, full+": no space left on device") {
		t.Errorf("stderr = %q; want its last line to name %s and say the disk is full", r.stderr, full)
	}
	m, err := manifest.Load(filepath.Join(state, "bulkload", "1"))
	if err != nil {
		t.Fatalf("the manifest after the failure: %v", err)
	}
	if !m.Upload.Complete || m.Poll.Done {
		t.Errorf("manifest: upload complete %v, poll done %v; want true, false", m.Upload.Complete, m.Poll.Done)
	}

	os.Remove(full) // room again
	r = runMain(t, context.Background(), env, []string{testKey}, "resume", "1", "--json")
	if r.code != exitOK {
		t.Fatalf("resume: exit %d; want 0\n%s", r.code, r.stderr)
	}
	storedOnce(t, srv, 1, in)
	if rows := readLines(t, full); len(rows) != 800 || !uniqueIDs(rows) {
		t.Errorf("success file has %d rows (unique: %v); want 800, each once", len(rows), uniqueIDs(rows))
	}
}

// TestManifestSaveFails stops a real process from saving its manifest in
// the middle of its upload: once two batches are stored, its file size
// limit (RLIMIT_FSIZE, which binds root too) is set below the manifest's
// size, so the next save gets EFBIG. The run must stop with one clear
// line, leave the last good manifest whole and never ahead of the job,
// and a resume must then store every record exactly once.
func TestManifestSaveFails(t *testing.T) {
	t.Parallel()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("no prlimit command to limit a running process's file size")
	}
	srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 20 * time.Millisecond}})
	in := writePeople(t, 2000, nil)
	state, results := t.TempDir(), t.TempDir()
	cmd, _, errb := command(t, srv, state, "run", "--type", "person/upsert", "--batch-size", "50", "--workers", "2",
		"--rate-limit", "100000", "--rate-window", "1s", "--results-dir", results, in)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id := waitAcked(t, state, 2)
	dir := filepath.Join(state, "bulkload", fmt.Sprint(id))
	if out, err := exec.Command(prlimit, "--pid", fmt.Sprint(cmd.Process.Pid), "--fsize=64:64").CombinedOutput(); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("prlimit: %v\n%s", err, out)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitFailed {
		t.Fatalf("exit %d; want 1\n%s", code, errb)
	}
	last := lastLine(errb.String())
	if !strings.Contains(last, "saving the manifest") || !strings.Contains(last, "file too large") {
		t.Errorf("last stderr line %q; want it to say the manifest could not be saved: file too large", last)
	}
	m, err := manifest.Load(dir)
	if err != nil {
		t.Fatalf("the manifest after the failed save: %v", err)
	}
	stored := int64(len(srv.Records(testKey, id)))
	if m.Upload.AckedRecords == 0 || m.Upload.AckedRecords > stored || stored == 2000 {
		t.Errorf("manifest acks %d records, the job holds %d; want 0 < acked <= held < 2000", m.Upload.AckedRecords, stored)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".manifest-*")); len(tmp) != 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}

	r := cli(t, context.Background(), srv, "resume", fmt.Sprint(id), "--state-dir", filepath.Join(state, "bulkload"), "--json")
	if r.code != exitOK {
		t.Fatalf("resume: exit %d; want 0\n%s", r.code, r.stderr)
	}
	storedOnce(t, srv, id, in)
}

// needDevFull skips a test where there is no /dev/full (Linux has one).
func needDevFull(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full to fill the disk with")
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestUnwritableDirs: a state or results directory that cannot be made,
// or a rejects file on a full disk, fails the run with one clear line
// before any job exists. Tests run as root, where a directory's mode bars
// nothing, so the directories are made impossible instead: their parent
// is a regular file.
func TestUnwritableDirs(t *testing.T) {
	t.Parallel()
	needDevFull(t)
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 10, nil)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{}\n[1]\n"), 0o600)
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o600)
	fullRejects := t.TempDir()
	rejects := filepath.Join(fullRejects, fmt.Sprintf(".bulkload-rejects-%d.jsonl", os.Getpid())) // in-process: our pid
	os.Symlink("/dev/full", rejects)
	for _, tt := range []struct {
		name  string
		state string
		args  []string
		want  string
	}{
		{"state dir", filepath.Join(file, "state"), []string{"--results-dir", t.TempDir(), in},
			"bulkload: state directory: mkdir " + file + ": not a directory\n"},
		{"results dir", t.TempDir(), []string{"--results-dir", filepath.Join(file, "results"), in},
			"bulkload: results directory: mkdir " + file + ": not a directory\n"},
		{"rejects on a full disk", t.TempDir(), []string{"--results-dir", fullRejects, "--max-rejects", "5", bad},
			"bulkload: rejects file " + rejects + ": write " + rejects + ": no space left on device\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": tt.state}
			r := runMain(t, context.Background(), env, []string{testKey}, append([]string{"run", "--type", "person/upsert", "--json"}, tt.args...)...)
			if r.code != exitFailed || r.stderr != tt.want {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
	if jobs := srv.Jobs(testKey); len(jobs) != 0 {
		t.Errorf("%d jobs created; want none", len(jobs))
	}
}

// TestServeSlowClients runs 'bulkload serve' as a process: clients that
// send their headers a byte at a time are cut off by its header timeout
// (10 s) while others are served, and SIGTERM stops it cleanly (exit 0)
// even while such a client hangs on.
func TestServeSlowClients(t *testing.T) {
	t.Parallel()
	t.Run("slowloris", func(t *testing.T) {
		t.Parallel()
		base, _ := startServe(t)
		addr := strings.TrimPrefix(base, "http://")
		const slow = 20
		closed := make(chan time.Duration, slow)
		start := time.Now()
		for range slow {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go func() { // one header byte every 200 ms, forever
				io.WriteString(c, "GET /v2/bulk_jobs HTTP/1.1\r\nHost: x\r\n")
				for {
					if _, err := io.WriteString(c, "X"); err != nil {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				closed <- time.Since(start)
			}()
		}
		for range 5 { // meanwhile others are served
			req, _ := http.NewRequest("GET", base+"/v2/bulk_jobs", nil)
			req.Header.Set("Authorization", "Bearer k")
			resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("a normal client during the slowloris: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("a normal client during the slowloris: %d", resp.StatusCode)
			}
		}
		for range slow {
			select {
			case d := <-closed:
				if d < 8*time.Second {
					t.Errorf("a slow client was cut off after %v; want about the 10 s header timeout", d)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("slow clients still connected after 20 s; want them cut off at 10 s")
			}
		}
	})
	t.Run("SIGTERM", func(t *testing.T) {
		t.Parallel()
		base, cmd := startServe(t)
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /v2/bulk_jobs HTTP/1.1\r\n") // and no more
		time.Sleep(50 * time.Millisecond)
		stopped := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("serve after SIGTERM: exit %d; want 0", code)
		}
		// Shutdown gives a connection that has not sent its headers 5 s.
		if d := time.Since(stopped); d > 8*time.Second {
			t.Errorf("serve took %v to stop after SIGTERM; want at most about 5 s", d)
		}
	})
}

// startServe starts 'bulkload serve' on a free loopback port and returns
// its base URL; the process is killed at the end of the test.
func startServe(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	if binary == "" {
		t.Fatal("the bulkload binary did not build")
	}
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--api-key", "k", "-q")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	i := strings.Index(line, "http://")
	if err != nil || i < 0 {
		t.Fatalf("serve printed %q (%v); want its base URL", line, err)
	}
	return strings.TrimSpace(line[i:]), cmd
}
