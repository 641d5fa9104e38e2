package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bulkload/bulkload/api/apitest"
)

// TestOnATerminal runs the command on a pseudo-terminal 60 columns wide
// (util-linux script): a real run shows the cost estimate before it
// starts, and the progress line never wraps.
func TestOnATerminal(t *testing.T) {
	t.Parallel()
	scriptCmd, err := exec.LookPath("script")
	if err != nil || binary == "" {
		t.Skip("needs util-linux script and the built command")
	}
	srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 20 * time.Millisecond}})
	in := writePeople(t, 3000, nil)
	dir := t.TempDir()
	line := "stty cols 60 rows 20; " + binary + " run --type person/upsert --batch-size 100 --results-dir " + dir + " " + in
	cmd := exec.Command(scriptCmd, "-qec", line, "/dev/null")
	cmd.Env = append(os.Environ(), "SALESLOFT_API_KEY="+testKey, "SALESLOFT_BASE_URL="+srv.URL, "XDG_STATE_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "Estimate for 3000 records at 0.8 of 600 calls per 1m0s: 68 API calls (30 uploads, 30 results pages") {
		t.Errorf("no cost estimate before the run:\n%s", s)
	}
	if !strings.Contains(s, "\r") {
		t.Fatalf("no progress drawn on the terminal:\n%s", s)
	}
	// Each redraw starts with \r; what it draws must fit in 60 columns.
	for _, seg := range strings.Split(s, "\r")[1:] {
		drawn, _, _ := strings.Cut(seg, "\n")
		drawn = strings.TrimRight(drawn, " ")
		if n := utf8.RuneCountInString(drawn); n >= 60 {
			t.Errorf("progress line of %d columns on a 60-column terminal: %q", n, drawn)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "1-success.jsonl")); err != nil {
		t.Errorf("the run wrote no results: %v", err)
	}
}
