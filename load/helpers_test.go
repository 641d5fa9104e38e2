package load_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/load"
)

const testKey = "ak_load_test"

// emulator starts an emulator whose records execute at once.
func emulator(t *testing.T, latency time.Duration) *apitest.Server {
	t.Helper()
	srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: apitest.NoLimit,
		Faults: apitest.Faults{Latency: latency}})
	t.Cleanup(srv.Close)
	return srv
}

// loader is a Loader against srv with its state in stateDir.
func loader(t *testing.T, srv *apitest.Server, stateDir, resultsDir string) *load.Loader {
	t.Helper()
	c, err := api.NewClient(api.Config{APIKey: testKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	l, err := load.New(load.Config{Client: c, StateDir: stateDir, ResultsDir: resultsDir, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// writePeople writes n people, one per line, each with a unique email.
func writePeople(t *testing.T, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "people.jsonl")
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"email_address":"p%d@example.com","first_name":"P%d","upsert_key":"email_address"}`+"\n", i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// storedOnce checks that job id holds each line of input exactly once, by
// email, and nothing else.
func storedOnce(t *testing.T, srv *apitest.Server, id int64, input string) {
	t.Helper()
	data, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line != "" {
			want[email(t, []byte(line))]++
		}
	}
	got := map[string]int{}
	for _, r := range srv.Records(testKey, id) {
		got[email(t, r)]++
	}
	var bad []string
	for e, n := range got {
		if want[e] != n {
			bad = append(bad, fmt.Sprintf("%s stored %d times, in the input %d", e, n, want[e]))
		}
	}
	for e, n := range want {
		if got[e] == 0 {
			bad = append(bad, fmt.Sprintf("%s (%d in the input) not stored", e, n))
		}
	}
	if len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], fmt.Sprintf("... %d more", len(bad)-5))
		}
		t.Fatalf("job %d holds %d records for %d input lines:\n%s", id, len(got), len(want), strings.Join(bad, "\n"))
	}
}

func email(t *testing.T, rec []byte) string {
	t.Helper()
	var p struct {
		Email string `json:"email_address"`
	}
	if err := json.Unmarshal(rec, &p); err != nil {
		t.Fatalf("record %q: %v", rec, err)
	}
	return p.Email
}

// total is the number of records job id holds.
func total(srv *apitest.Server, id int64) int {
	return len(srv.Records(testKey, id))
}

// untilStored waits until job id holds at least n records, or fails.
func untilStored(t *testing.T, srv *apitest.Server, id int64, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for total(srv, id) < n {
		if time.Now().After(deadline) {
			t.Fatalf("job %d holds %d records after 30 s; want %d", id, total(srv, id), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
