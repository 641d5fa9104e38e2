package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/manifest"
)

func TestCompletion(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	for i, d := range []string{"7", "12-upload-0123456789ab", "12-results-abcdef", "x"} {
		dir := filepath.Join(state, "bulkload", d)
		os.MkdirAll(dir, 0o700)
		f := filepath.Join(dir, manifest.FileName)
		os.WriteFile(f, []byte("{}"), 0o600)
		changed := time.Now().Add(time.Duration(i-10) * time.Minute)
		os.Chtimes(f, changed, changed)
	}
	env := map[string]string{"XDG_STATE_HOME": state}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "run", "--type", ""}, "person/upsert\ncalendar/events/upsert\ncrm_share/upsert\n"},
		{[]string{"__complete", "upload", "--format", ""}, "jsonl\njson\ncsv\ntsv\n"},
		{[]string{"__complete", "results", "1", "--results-format", ""}, "jsonl\ncsv\n"},
		{[]string{"__complete", "jobs", "--state", ""}, "open\nexecuting\ndone\n"},
		{[]string{"__complete", "resume", ""}, "12\n7\n"}, // saved jobs, the most recently changed first
		{[]string{"__complete", "status", ""}, "12\n7\n"},
	} {
		r := runMain(t, context.Background(), env, nil, tt.args...)
		if got, _, _ := strings.Cut(r.stdout, ":"); got != tt.want {
			t.Errorf("%v: completions %q; want %q", tt.args, got, tt.want)
		}
	}
}

// Flags that were global still work before the command name.
func TestHoist(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"--json --rate-limit 5 --budget=1 run --type t f", "run --json --rate-limit 5 --budget=1 --type t f"},
		{"-v status 7", "status -v 7"},
		{"run --json f", "run --json f"},
		{"--json", "--json"},
		{"-q --json run f", "run -q --json f"},
		{"--version", "--version"},
	} {
		if got := strings.Join(hoist(strings.Fields(tt.in)), " "); got != tt.want {
			t.Errorf("hoist(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
