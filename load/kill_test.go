package load_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/load"
)

// childEnv holds, in a re-executed test binary, what the embedding
// program loads: base URL, state dir, results dir and input, tab-separated.
const childEnv = "BULKLOAD_LOAD_TEST_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(embeddingProgram(strings.Split(v, "\t")))
	}
	os.Exit(m.Run())
}

// embeddingProgram is ETL code that embeds the library the way the README
// shows: it loads a file, and run again after a crash it continues the
// load it began instead of starting another.
func embeddingProgram(args []string) int {
	base, state, results, input := args[0], args[1], args[2], args[3]
	c, err := api.NewClient(api.Config{APIKey: testKey, BaseURL: base})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := load.New(load.Config{Client: c, StateDir: state, ResultsDir: results})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rep, err := l.Run(context.Background(), load.Input{Path: input, BatchSize: 100},
		load.RunOptions{Type: "person/upsert", Continue: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

// A program embedding the library is killed with SIGKILL at several points
// of its load and run again with the same config: every record is stored
// once, in one job, and every result is written once. Before package load,
// a program embedding the uploader stored records twice (30,956 records in
// a job for a 23,456-record input).
func TestEmbeddingKilledAndRunAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	const n = 3000
	for _, point := range []struct {
		name   string
		stored int // kill once the job holds this many records (-1: once it exists)
	}{
		{"job created", -1},
		{"first batches", 100},
		{"a third", n / 3},
		{"upload complete", n},
	} {
		t.Run(point.name, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, 15*time.Millisecond)
			dir, state, results := t.TempDir(), t.TempDir(), t.TempDir()
			in := writePeople(t, dir, n)
			child := func() *exec.Cmd {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{srv.URL, state, results, in}, "\t"))
				return cmd
			}
			cmd := child()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				jobs := srv.Jobs(testKey)
				if len(jobs) > 0 && (point.stored < 0 || total(srv, jobs[0].ID) >= point.stored) {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("the kill point was not reached in 30 s")
				}
				time.Sleep(time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()

			out, err := child().Output()
			if err != nil {
				t.Fatalf("run again: %v\n%s", err, errText(err))
			}
			var rep load.Report
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("report %q: %v", out, err)
			}
			var used []int64
			for _, j := range srv.Jobs(testKey) {
				if total(srv, j.ID) > 0 {
					used = append(used, j.ID)
				}
			}
			if len(used) != 1 || used[0] != rep.JobID {
				t.Fatalf("jobs holding records: %v; want only job %d", used, rep.JobID)
			}
			storedOnce(t, srv, rep.JobID, in)
			resultsOnce(t, rep.Files.Success, n)
		})
	}
}

// resultsOnce checks a results file holds n rows with distinct ids.
func resultsOnce(t *testing.T, path string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct{ ID int64 }
		if err := json.Unmarshal([]byte(line), &r); err != nil || seen[r.ID] {
			t.Fatalf("%s: row %q: a duplicate or not JSON (%v)", filepath.Base(path), line, err)
		}
		seen[r.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("%s holds %d results; want %d", filepath.Base(path), len(seen), n)
	}
}

func errText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
