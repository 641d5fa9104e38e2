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
	"github.com/bulkload/bulkload/manifest"
)

// TestKillAndResume kills an uploading process (./internal/killtest) with
// SIGKILL, resumes it from its state directory, and checks that the job
// ends holding every record exactly once and that no other job was made.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a subprocess")
	}
	bin := filepath.Join(t.TempDir(), "killtest")
	build := exec.Command("go", "build", "-o", bin, "./internal/killtest")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("first window", func(t *testing.T) { testKillFirstWindow(t, bin) })
	t.Run("several moments", func(t *testing.T) { testKillSeveralMoments(t, bin) })
	t.Run("manifest durable", func(t *testing.T) { testManifestDurable(t, bin) })
}

// killRig is an emulator with an open job, an input file of records and a
// state directory, for runs of the killtest binary.
type killRig struct {
	t     *testing.T
	bin   string
	env   *testEnv
	recs  [][]byte
	in    string
	state string
}

func newKillRig(t *testing.T, bin string, n int) *killRig {
	t.Helper()
	tmp := t.TempDir()
	k := &killRig{t: t, bin: bin, env: newEnv(t, apitest.Config{Seed: 7}, 0, nil), recs: makeRecords(n, "k"),
		in: filepath.Join(tmp, "in.jsonl"), state: filepath.Join(tmp, "state")}
	if err := os.WriteFile(k.in, append(bytes.Join(k.recs, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// command returns the killtest command for the rig, prefixed by wrap (such
// as strace and its flags).
func (k *killRig) command(wrap ...string) (*exec.Cmd, *bytes.Buffer) {
	args := append(wrap, k.bin, "-url", k.env.srv.URL, "-key", testKey, "-job", strconv.FormatInt(k.env.job, 10),
		"-in", k.in, "-state", k.state, "-batch", "50", "-workers", "4")
	var out bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

func (k *killRig) stored() int64 { return k.env.srv.Stats().BatchesStored }
func (k *killRig) stalls() int64 {
	return k.env.srv.Stats().Faults[apitest.FaultStallAfterStore]
}

// killWhen starts the child with faults and kills it once cond holds.
func (k *killRig) killWhen(name string, faults apitest.Faults, cond func() bool) {
	t := k.t
	t.Helper()
	if err := k.env.srv.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	cmd, out := k.command()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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
	t.Logf("%s: killed (%v) with %d batches stored in the emulator", name, err, k.stored())
}

// finish runs the child without faults to the end and checks the job.
func (k *killRig) finish() {
	t := k.t
	t.Helper()
	if err := k.env.srv.SetFaults(apitest.Faults{}); err != nil {
		t.Fatal(err)
	}
	cmd, out := k.command()
	if err := cmd.Run(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	checkOnce(t, k.env.srv, k.env.job, k.recs)
	if jobs := k.env.srv.Jobs(testKey); len(jobs) != 1 {
		t.Errorf("the team has %d jobs; want 1", len(jobs))
	}
	t.Logf("emulator: %+v", k.env.srv.Stats())
}

// testKillFirstWindow kills the process in the first window of uploads:
// every upload is stored and its answer withheld, so the process dies
// before any acknowledgement. Only the manifest saved before the first
// batches went out tells the next run that they may be stored.
func testKillFirstWindow(t *testing.T, bin string) {
	k := newKillRig(t, bin, 1000)
	const workers = 4
	stall := apitest.Faults{StallAfterStore: 1, StallDuration: time.Minute}
	k.killWhen("first window", stall, func() bool { return k.stalls() >= workers })
	m, err := manifest.Load(k.state)
	if err != nil {
		t.Fatal(err)
	}
	if up := m.Upload; up.AckedBelow != 0 || len(up.Acked) != 0 {
		t.Fatalf("the manifest records batches as stored (AckedBelow %d, Acked %v); the kill came too late to test the first window",
			up.AckedBelow, up.Acked)
	}
	k.finish()
}

// testKillSeveralMoments kills the process at several moments, among them
// while batches are stored but not yet acknowledged, and after a
// reconciliation, resuming each time.
func testKillSeveralMoments(t *testing.T, bin string) {
	k := newKillRig(t, bin, 6000)
	slow := apitest.Faults{Latency: 2 * time.Millisecond, Jitter: 2 * time.Millisecond}
	k.killWhen("early", slow, func() bool { return k.stored() >= 3 })
	base := k.stored()
	k.killWhen("in full flight", slow, func() bool { return k.stored() >= base+20 })
	s0 := k.stalls()
	stall := slow
	stall.StallAfterStore, stall.StallDuration = 0.3, time.Minute
	k.killWhen("stored, not acknowledged", stall, func() bool { return k.stalls() >= s0+2 })
	s1 := k.stalls()
	stall.ErrorAfterStore = 0.2
	k.killWhen("stored, not acknowledged, after a reconciliation", stall, func() bool { return k.stalls() >= s1+3 })
	base = k.stored()
	k.killWhen("with errors after store", apitest.Faults{ErrorAfterStore: 0.3, Latency: time.Millisecond},
		func() bool { return k.stored() >= base+10 })
	k.finish()
}
