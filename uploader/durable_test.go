package uploader

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bulkload/bulkload/manifest"
)

// testManifestDurable runs a whole upload under strace and checks, from the
// system calls, what "the manifest survives a crash of the machine" rests
// on: the manifest is never written in place; each new version is a
// temporary file that is fsynced before it is renamed over the manifest;
// and the directory is fsynced after each rename. It is skipped where strace
// cannot trace a process.
func testManifestDurable(t *testing.T, bin string) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed")
	}
	if out, err := exec.Command(strace, "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v\n%s", err, out)
	}
	k := newKillRig(t, bin, 1000)
	trace := filepath.Join(t.TempDir(), "trace")
	cmd, out := k.command(strace, "-f", "-qq", "-y", "-o", trace,
		"-e", "trace=openat,fsync,fdatasync,rename,renameat,renameat2")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run under strace: %v\n%s", err, out)
	}
	checkOnce(t, k.env.srv, k.env.job, k.recs)

	state, err := filepath.EvalSymlinks(k.state)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(state, manifest.FileName)
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	quoted := regexp.MustCompile(`"([^"]*)"`)
	pidPrefix := regexp.MustCompile(`^(\[pid\s+\d+\]|\d+)\s+`)
	fdPath := regexp.MustCompile(`^(?:fsync|fdatasync)\(\d+<([^>]*)>`)
	synced := map[string]bool{} // files fsynced so far
	renames := 0
	dirPending := false // a rename over the manifest awaits a directory fsync
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := pidPrefix.ReplaceAllString(sc.Text(), "") // "N call(...)" with -f and -o
		if strings.HasPrefix(line, "<...") {
			continue // the end of a call whose start was seen
		}
		switch {
		case strings.HasPrefix(line, "openat("):
			args := quoted.FindAllStringSubmatch(line, -1)
			if len(args) > 0 && args[0][1] == target && (strings.Contains(line, "O_WRONLY") || strings.Contains(line, "O_RDWR")) {
				t.Errorf("the manifest is opened for writing in place: %s", line)
			}
		case strings.HasPrefix(line, "fsync(") || strings.HasPrefix(line, "fdatasync("):
			if m := fdPath.FindStringSubmatch(line); m != nil {
				synced[m[1]] = true
				if m[1] == state {
					dirPending = false
				}
			}
		case strings.HasPrefix(line, "rename"):
			args := quoted.FindAllStringSubmatch(line, -1)
			if len(args) != 2 || args[1][1] != target {
				continue
			}
			renames++
			if !synced[args[0][1]] {
				t.Errorf("%s is renamed over the manifest without an fsync first", args[0][1])
			}
			if dirPending {
				t.Errorf("the manifest was renamed again before its directory was fsynced after the previous rename")
			}
			dirPending = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if dirPending {
		t.Errorf("the directory was not fsynced after the last rename over the manifest")
	}
	if renames < 2 {
		t.Fatalf("the trace shows %d renames over %s; want one per save (the trace format may have changed)", renames, target)
	}
	t.Logf("%d manifest saves traced", renames)
}
