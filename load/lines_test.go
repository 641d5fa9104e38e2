package load_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/load"
)

// Result lines are right, never guessed, under out-of-order execution, 4
// workers, uploads in doubt (stored, then answered 5xx or reset) and a
// results read interrupted and resumed: every row that names a line names
// the line of its own record, and with no repeated records in the input
// every row names one.
func TestResultLinesUnderFaults(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: 20000, OutOfOrder: true, Seed: 3,
		Faults: apitest.Faults{ErrorAfterStore: 0.15, ResetAfterStore: 0.1}})
	t.Cleanup(srv.Close)
	dir, state := t.TempDir(), t.TempDir()
	// Blank lines and a multi-line-free JSONL input: line numbers differ
	// from record numbers.
	in := filepath.Join(dir, "people.jsonl")
	var b strings.Builder
	want := map[string]int{} // email -> line
	line := 0
	for i := range 4000 {
		if i%7 == 0 {
			b.WriteString("\n")
			line++
		}
		line++
		email := "p" + strconv.Itoa(i) + "@example.com"
		b.WriteString(`{"email_address":"` + email + `","upsert_key":"email_address"}` + "\n")
		want[email] = line
	}
	os.WriteFile(in, []byte(b.String()), 0o600)

	l := loader(t, srv, state, dir)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // interrupt once some results are written
		for {
			if s := l.Stats(); s.Phase == load.PhaseResults && s.Poll.Delivered > 1500 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	rep, err := l.Run(ctx, load.Input{Path: in, BatchSize: 100}, load.RunOptions{Type: "person/upsert"})
	if !errors.Is(err, context.Canceled) {
		cancel()
		t.Fatalf("first run: %+v, %v; want it interrupted while reading results", rep, err)
	}
	srv.SetFaults(apitest.Faults{})
	rep, err = loader(t, srv, state, dir).Resume(context.Background(), rep.JobID, load.ResumeOptions{})
	if err != nil || rep.Succeeded != 4000 {
		t.Fatalf("resume: %+v, %v", rep, err)
	}
	storedOnce(t, srv, rep.JobID, in)
	data, _ := os.ReadFile(rep.Files.Success)
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(rows) != 4000 {
		t.Fatalf("%d result rows; want 4000", len(rows))
	}
	for _, r := range rows {
		var row struct {
			Line   *int            `json:"line"`
			Record json.RawMessage `json:"record"`
			Status api.Status      `json:"status"`
		}
		if err := json.Unmarshal([]byte(r), &row); err != nil {
			t.Fatal(err)
		}
		e := email(t, row.Record)
		if row.Line == nil || *row.Line != want[e] {
			t.Fatalf("row %s names line %v; want %d", r, row.Line, want[e])
		}
	}
}
