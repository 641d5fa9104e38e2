package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompletion(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	for _, d := range []string{"7", "12-upload-0123456789ab", "12-results-abcdef", "x"} {
		os.MkdirAll(filepath.Join(state, "bulkload", d), 0o700)
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
		{[]string{"__complete", "resume", ""}, "12\n7\n"}, // saved jobs, newest id first
		{[]string{"__complete", "status", ""}, "12\n7\n"},
	} {
		r := runMain(t, context.Background(), env, nil, tt.args...)
		if got, _, _ := strings.Cut(r.stdout, ":"); got != tt.want {
			t.Errorf("%v: completions %q; want %q", tt.args, got, tt.want)
		}
	}
}
