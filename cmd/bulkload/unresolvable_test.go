package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
)

// TestUnresolvableDoubts: two uploads in doubt of the same size, one of
// them stored, whose records the job also holds from earlier batches: no
// count or content can tell which was stored. upload stops, stores
// nothing twice and names the way out; run again with
// --resend-unresolvable it sends both again and counts the records stored
// twice.
func TestUnresolvableDoubts(t *testing.T) {
	t.Parallel()
	// Latency keeps both uploads of the second file in flight at once.
	srv := emulator(t, apitest.Config{Faults: apitest.Faults{Latency: 150 * time.Millisecond}})
	id := createOpenJob(t, srv)
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	x, y, z := `{"email_address":"x@t.io"}`, `{"email_address":"y@t.io"}`, `{"email_address":"z@t.io"}`
	first := write("first.jsonl", y, z, x, x)
	second := write("second.jsonl", x, y, x, z) // batches [x y] and [x z]
	state := t.TempDir()
	upload := func(file string, extra ...string) result {
		args := append([]string{"upload", "--job", jobIDString(id), "--batch-size", "2", "--workers", "2",
			"--state-dir", state, "--results-dir", dir, "--json", file}, extra...)
		return cli(t, context.Background(), srv, args...)
	}
	if r := upload(first); r.code != exitOK {
		t.Fatalf("first upload: exit %d\n%s", r.code, r.stderr)
	}
	// Of the next two uploads, the first to arrive fails before it is
	// stored, the other after: both answer 5xx.
	srv.FailNext(apitest.FaultErrorBeforeStore, 1)
	srv.FailNext(apitest.FaultErrorAfterStore, 1)
	r := upload(second)
	if r.code != exitFailed || !strings.Contains(r.stderr, "cannot tell which uploads in doubt were stored") ||
		!strings.Contains(r.stderr, "upload --job "+jobIDString(id)+" "+second+" --resend-unresolvable") {
		t.Fatalf("second upload: exit %d %q; want 1, unresolvable, naming the way out", r.code, r.stderr)
	}
	if got := len(srv.Records(testKey, id)); got != 6 {
		t.Fatalf("the job holds %d records; want 6 (4, and one of the uploads in doubt)", got)
	}
	r = upload(second, "--resend-unresolvable")
	if r.code != exitOK {
		t.Fatalf("upload --resend-unresolvable: exit %d\n%s", r.code, r.stderr)
	}
	if s := decodeSummary(t, r.stdout); s.Duplicates != 2 {
		t.Errorf("summary duplicates = %d; want 2", s.Duplicates)
	}
	count := map[string]int{}
	for _, rec := range srv.Records(testKey, id) {
		count[string(rec)]++
	}
	// 4 + 4 records sent, and the 2 of the doubt that was stored twice:
	// x three times and one of y or z once more.
	if count[x] != 5 || count[y]+count[z] != 5 || count[y] < 2 || count[z] < 2 {
		t.Errorf("the job holds %v; want every record of both files, plus one stored doubt", count)
	}
}
