package uploader

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
)

// TestKillAndResume kills an uploading process with SIGKILL at several
// moments, among them while batches are stored but not yet acknowledged,
// resumes it each time from its state directory, and checks that the job
// ends holding every record exactly once and that no other job was made.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a subprocess")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "killtest")
	build := exec.Command("go", "build", "-o", bin, "./internal/killtest")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := newEnv(t, apitest.Config{Seed: 7}, 0, nil)
	recs := makeRecords(6000, "k")
	in := filepath.Join(tmp, "in.jsonl")
	if err := os.WriteFile(in, append(bytes.Join(recs, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(tmp, "state")
	start := func() (*exec.Cmd, *bytes.Buffer) {
		var out bytes.Buffer
		cmd := exec.Command(bin, "-url", env.srv.URL, "-key", testKey, "-job", strconv.FormatInt(env.job, 10),
			"-in", in, "-state", state, "-batch", "50", "-workers", "4")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	stored := func() int64 { return env.srv.Stats().BatchesStored }
	stalls := func() int64 { return env.srv.Stats().Faults[apitest.FaultStallAfterStore] }
	// killWhen starts the child and kills it once cond holds.
	killWhen := func(name string, faults apitest.Faults, cond func() bool) {
		t.Helper()
		if err := env.srv.SetFaults(faults); err != nil {
			t.Fatal(err)
		}
		cmd, out := start()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("%s: the moment to kill never came; child output:\n%s", name, out)
			}
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Kill() // SIGKILL
		err := cmd.Wait()
		t.Logf("%s: killed (%v) with %d batches stored in the emulator", name, err, stored())
	}

	slow := apitest.Faults{Latency: 2 * time.Millisecond, Jitter: 2 * time.Millisecond}
	killWhen("early", slow, func() bool { return stored() >= 3 })
	base := stored()
	killWhen("in full flight", slow, func() bool { return stored() >= base+20 })
	s0 := stalls()
	stall := slow
	stall.StallAfterStore, stall.StallDuration = 0.3, time.Minute
	killWhen("stored, not acknowledged", stall, func() bool { return stalls() >= s0+2 })
	s1 := stalls()
	stall.ErrorAfterStore = 0.2
	killWhen("stored, not acknowledged, after a reconciliation", stall, func() bool { return stalls() >= s1+3 })
	base = stored()
	killWhen("with errors after store", apitest.Faults{ErrorAfterStore: 0.3, Latency: time.Millisecond},
		func() bool { return stored() >= base+10 })

	if err := env.srv.SetFaults(apitest.Faults{}); err != nil {
		t.Fatal(err)
	}
	cmd, out := start()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	checkOnce(t, env.srv, env.job, recs)
	if jobs := env.srv.Jobs(testKey); len(jobs) != 1 {
		t.Errorf("the team has %d jobs; want 1", len(jobs))
	}
	t.Logf("emulator: %+v", env.srv.Stats())
}
