package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/load"
	"go.uber.org/goleak"
)

// binary is the bulkload command built once for the tests that run it as
// a process; empty if the build failed (those tests then fail).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bulkload-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "bulkload")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building bulkload: %v\n%s", err, out)
		binary = ""
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

const testKey = "ak_cli_test_secret_0123456789"

// emulator starts a fast emulator: records execute at once, the budget is
// practically unlimited unless cfg says otherwise.
func emulator(t *testing.T, cfg apitest.Config) *apitest.Server {
	t.Helper()
	if cfg.APIKeys == nil {
		cfg.APIKeys = []string{testKey}
	}
	if cfg.ProcessRate == 0 {
		cfg.ProcessRate = apitest.NoLimit
	}
	if cfg.FailRecords == "" {
		cfg.FailRecords = failMark
	}
	srv := apitest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command in-process with srv's URL and key in the environment.
func cli(t *testing.T, ctx context.Context, srv *apitest.Server, args ...string) result {
	t.Helper()
	return cliStdin(t, ctx, srv, nil, args...)
}

// cliStdin is cli with stdin as the command's standard input.
func cliStdin(t *testing.T, ctx context.Context, srv *apitest.Server, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "XDG_STATE_HOME": filepath.Join(t.TempDir(), "state")}
	if srv != nil {
		env["SALESLOFT_BASE_URL"] = srv.URL
	}
	code := Main(ctx, append(args, "--rate-limit", "100000", "--rate-window", "1s"), Env{
		Stdin: stdin, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] },
	})
	if strings.Contains(out.String()+errb.String(), testKey) {
		t.Errorf("the API key appears in the output:\n%s\n%s", out.String(), errb.String())
	}
	if strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic") {
		t.Errorf("stack trace or panic on stderr:\n%s", errb.String())
	}
	return result{code, out.String(), errb.String()}
}

// failMark is in the records the test emulator fails on execution
// (apitest.Config.FailRecords): records bulkload's own checks pass that
// the server refuses.
const failMark = "@fail.example"

// writePeople writes n JSONL person records; those whose index is in
// fail are refused by the test emulator on execution (see failMark).
func writePeople(t *testing.T, n int, fail func(i int) bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "people.jsonl")
	var b strings.Builder
	for i := range n {
		email := fmt.Sprintf("p%d@example.com", i)
		if fail != nil && fail(i) {
			email = fmt.Sprintf("p%d%s", i, failMark)
		}
		fmt.Fprintf(&b, `{"email_address":%q,"first_name":"P%d","upsert_key":"email_address"}`+"\n", email, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	return lines
}

func decodeSummary(t *testing.T, stdout string) load.Report {
	t.Helper()
	var s load.Report
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &s); err != nil {
		t.Fatalf("--json summary %q: %v", stdout, err)
	}
	return s
}

// storedOnce checks the job holds each input record exactly once.
func storedOnce(t *testing.T, srv *apitest.Server, jobID int64, input string) {
	t.Helper()
	want := readLines(t, input)
	got := srv.Records(testKey, jobID)
	if len(got) != len(want) {
		t.Fatalf("job %d holds %d records; want %d", jobID, len(got), len(want))
	}
	seen := map[string]int{}
	for _, r := range got {
		seen[string(r)]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Fatalf("record %s stored %d times; want once", w, seen[w])
		}
	}
}

func apitestConfig() apitest.Config { return apitest.Config{} }

func jobFile(id int64, suffix string) string { return fmt.Sprintf("%d-%s", id, suffix) }

func jobIDString(id int64) string { return fmt.Sprint(id) }

// createOpenJob creates an empty open person/upsert job through the API.
func createOpenJob(t *testing.T, srv *apitest.Server) int64 {
	t.Helper()
	c, err := api.NewClient(api.Config{APIKey: testKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := c.CreateJob(context.Background(), api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		t.Fatal(err)
	}
	return j.ID
}

// peopleLines checks that each JSON Lines result row of writePeople's
// records names the line of its record: person i is on line i+1.
func peopleLines(t *testing.T, rows []string) {
	t.Helper()
	for _, r := range rows {
		var row struct {
			Line   *int `json:"line"`
			Record struct {
				Email string `json:"email_address"`
			} `json:"record"`
		}
		if err := json.Unmarshal([]byte(r), &row); err != nil {
			t.Fatalf("row %s: %v", r, err)
		}
		var i int
		if _, err := fmt.Sscanf(row.Record.Email, "p%d", &i); err != nil {
			t.Fatalf("row %s: not a person of writePeople", r)
		}
		if row.Line == nil || *row.Line != i+1 {
			t.Fatalf("row %s names line %v; want %d", r, row.Line, i+1)
		}
	}
}
