package main

import (
	"strings"
	"testing"

	"github.com/bulkload/bulkload/api/apitest"
)

// TestBinaryExitCodes runs the built command as users do and checks the
// exit code of each outcome and the --json summary.
func TestBinaryExitCodes(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{})
	good := writePeople(t, 300, nil)
	partial := writePeople(t, 300, func(i int) bool { return i%50 == 0 })
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout+stderr
	}{
		{"happy", []string{"run", "--type", "person/upsert", "--json", good}, exitOK, `"succeeded":300`},
		{"some failed", []string{"run", "--type", "person/upsert", "--json", partial}, exitPartial, `"failed":6`},
		{"dry run", []string{"run", "--dry-run", "--json", good}, exitOK, `"records":300`},
		{"usage", []string{"run", good}, exitUsage, "--type is required"},
		{"help", []string{"run", "--help"}, exitOK, "Examples:"},
		{"missing file", []string{"run", "--type", "person/upsert", "/nope.csv"}, exitFailed, "/nope.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd, out, errb := command(t, srv, t.TempDir(), append(tt.args, "--results-dir", t.TempDir(), "--rate-limit", "100000", "--rate-window", "1s")...)
			cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Fatalf("exit %d; want %d\n%s", code, tt.code, errb)
			}
			if all := out.String() + errb.String(); !strings.Contains(all, tt.want) {
				t.Errorf("output %q; want %q", all, tt.want)
			}
			if strings.Contains(out.String()+errb.String(), testKey) {
				t.Errorf("the key appears in the output")
			}
		})
	}
	// A bad key: exit 1, one line saying so.
	cmd, _, errb := command(t, srv, t.TempDir(), "run", "--type", "person/upsert", "--results-dir", t.TempDir(), good)
	for i, e := range cmd.Env {
		if strings.HasPrefix(e, "SALESLOFT_API_KEY=") {
			cmd.Env[i] = "SALESLOFT_API_KEY=ak_wrong"
		}
	}
	cmd.Run()
	// The cause is said once, on one line, with no summary of zeros (no
	// job exists): before, seven summary lines, then 401 three ways.
	want := "bulkload: the API key was refused (401 from POST /v2/bulk_jobs): check SALESLOFT_API_KEY or --api-key\n"
	if code := cmd.ProcessState.ExitCode(); code != exitFailed || errb.String() != want {
		t.Errorf("bad key: exit %d, %q; want 1 and %q", code, errb, want)
	}
}
