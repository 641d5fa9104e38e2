package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunHappyPath(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 1200, nil)
	dir := t.TempDir()
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--batch-size", "500", "--results-dir", dir, "--json", in)
	if r.code != exitOK {
		t.Fatalf("exit %d; want 0\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if s.State != "done" || s.Records != 1200 || s.Batches != 3 || s.Uploaded != 1200 || s.Succeeded != 1200 || s.Failed != 0 || s.Rejected != 0 {
		t.Errorf("summary = %+v; want done, 1200 records in 3 batches, all succeeded", s)
	}
	var calls int64
	for _, n := range srv.Stats().Requests {
		calls += n
	}
	if s.APICalls != calls || s.ElapsedSeconds <= 0 {
		t.Errorf("summary api_calls=%d elapsed=%v; want the emulator's %d calls and > 0", s.APICalls, s.ElapsedSeconds, calls)
	}
	storedOnce(t, srv, s.JobID, in)
	if got := len(readLines(t, s.Files.Success)); got != 1200 {
		t.Errorf("%s has %d rows; want 1200", s.Files.Success, got)
	}
	if filepath.Base(s.Files.Success) != jobFile(s.JobID, "success.jsonl") {
		t.Errorf("success file %s; want <job id>-success.jsonl", s.Files.Success)
	}
	if st, err := os.Stat(s.Files.Success); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v; want mode 0600", s.Files.Success, err)
	}
	// Every record succeeded: no errors file, not even an empty one.
	if s.Files.Errors != "" {
		t.Errorf("summary names errors file %q; want none", s.Files.Errors)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.Files.Success), jobFile(s.JobID, "errors.jsonl"))); err == nil {
		t.Errorf("an errors file was written for a job with no errors")
	}
}

func TestRunPartialFailuresExit3(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 300, func(i int) bool { return i%10 == 3 })
	// Two malformed lines: rejected and kept, with their line numbers.
	f, _ := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("{\"email_address\": \"x@y.z\",\n[1,2]\n")
	f.Close()
	dir := t.TempDir()
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--max-rejects", "5", "--results-dir", dir, "--json", in)
	if r.code != exitPartial {
		t.Fatalf("exit %d; want 3\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if s.Succeeded != 270 || s.Failed != 30 || s.Rejected != 2 {
		t.Errorf("summary = %+v; want 270 succeeded, 30 failed, 2 rejected", s)
	}
	errs := readLines(t, s.Files.Errors)
	if len(errs) != 30 || !strings.Contains(errs[0], `"status":"error"`) || !strings.Contains(errs[0], "record could not be processed") {
		t.Errorf("errors file: %d rows, first %q; want 30 error rows with reasons", len(errs), errs[0])
	}
	rej := readLines(t, s.Files.Rejects)
	if len(rej) != 2 || !strings.Contains(rej[0], `"line":301`) || !strings.Contains(rej[1], `"line":302`) || !strings.Contains(rej[1], "not a JSON object") {
		t.Errorf("rejects file = %q; want lines 301 and 302 with reasons", rej)
	}
}

func TestRunErrorsOnly(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 1000, func(i int) bool { return i%100 == 0 })
	dir := t.TempDir()
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--errors-only", "--results-dir", dir, "--json", in)
	if r.code != exitPartial {
		t.Fatalf("exit %d; want 3\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if s.Failed != 10 || s.Succeeded != 990 || s.Files.Success != "" {
		t.Errorf("summary = %+v; want 10 failed, 990 succeeded, no success file", s)
	}
	if got := len(readLines(t, s.Files.Errors)); got != 10 {
		t.Errorf("errors file has %d rows; want 10", got)
	}
	// Each failure names its input line, tied by content.
	peopleLines(t, readLines(t, s.Files.Errors))
	if s.Lines.Tied != 10 || s.Lines.Unknown != 0 {
		t.Errorf("summary lines %+v; want 10 tied", s.Lines)
	}
	if _, err := os.Stat(filepath.Join(dir, jobFile(s.JobID, "success.jsonl"))); err == nil {
		t.Errorf("errors-only wrote a success file")
	}
	// Reading 10 failures costs about one page, not the 10 pages of a full read.
	if s.APICalls > 25 {
		t.Errorf("errors-only run made %d calls; want few (3 uploads/ready/create + ~1 page + job polls)", s.APICalls)
	}
}

func TestRunCSVInAndOut(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := filepath.Join(t.TempDir(), "people.csv")
	os.WriteFile(in, []byte("email_address,first_name,custom_fields.source,upsert_key\r\n"+
		"a@x.io,Ann,fair,email_address\r\n"+
		"b@x.io,\"Bo, Jr.\",,email_address\r\n"+
		"c"+failMark+",Cy,web,email_address\r\n"), 0o600)
	dir := t.TempDir()
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--results-format", "csv", "--results-dir", dir, "--json", in)
	if r.code != exitPartial {
		t.Fatalf("exit %d; want 3 (the server refuses one record)\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	recs := srv.Records(testKey, s.JobID)
	want := []string{
		`{"email_address":"a@x.io","first_name":"Ann","custom_fields":{"source":"fair"},"upsert_key":"email_address"}`,
		`{"email_address":"b@x.io","first_name":"Bo, Jr.","upsert_key":"email_address"}`,
		`{"email_address":"c` + failMark + `","first_name":"Cy","custom_fields":{"source":"web"},"upsert_key":"email_address"}`,
	}
	if len(recs) != 3 {
		t.Fatalf("stored %d records; want 3", len(recs))
	}
	for i := range want {
		var got, w any
		json.Unmarshal(recs[i], &got)
		json.Unmarshal([]byte(want[i]), &w)
		if g, _ := json.Marshal(got); string(g) != mustCanon(want[i]) {
			t.Errorf("record %d = %s; want %s", i, recs[i], want[i])
		}
	}
	if !strings.HasSuffix(s.Files.Success, ".csv") {
		t.Errorf("success file %s; want .csv", s.Files.Success)
	}
	lines := readLines(t, s.Files.Success)
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "_line,_id,_status,_error,_resource_id,_upsert_type,email_address,first_name") {
		t.Errorf("success csv = %q; want a header and 2 rows", lines)
	}
}

func mustCanon(s string) string {
	var v any
	json.Unmarshal([]byte(s), &v)
	b, _ := json.Marshal(v)
	return string(b)
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	in := writePeople(t, 12001, nil)
	// No server, no key: a dry run makes no call.
	var out, errb strings.Builder
	code := Main(context.Background(), []string{"run", "--dry-run", "--json", in}, Env{Stdout: &out, Stderr: &errb})
	if code != exitOK {
		t.Fatalf("exit %d; want 0\n%s", code, errb.String())
	}
	s := decodeSummary(t, out.String())
	st, _ := os.Stat(in)
	if !s.DryRun || s.Records != 12001 || s.Batches != 3 || s.APICalls != 0 || s.Bytes < st.Size() {
		t.Errorf("dry-run summary = %+v; want 12001 records, 3 batches, 0 calls, ≥ %d body bytes", s, st.Size())
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	in := writePeople(t, 1, nil)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no type", []string{"run", in}, nil, "--type is required"},
		{"no file", []string{"run", "--type", "person/upsert"}, nil, "takes 1 argument"},
		{"unknown flag", []string{"run", "--nope", in}, nil, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, nil, "unknown command"},
		{"bad batch size", []string{"run", "--type", "person/upsert", "--batch-size", "5001", in}, nil, "--batch-size"},
		{"bad results format", []string{"run", "--type", "person/upsert", "--results-format", "xml", in}, nil, "--results-format"},
		{"missing key", []string{"run", "--type", "person/upsert", in}, map[string]string{}, "no API key"},
		{"bad job id", []string{"status", "abc"}, nil, "not a job id"},
		{"bad budget", []string{"run", "--type", "person/upsert", "--budget", "2", in}, nil, "--budget 2: want the share"},
		// Checked in every command that takes the flag, dry runs too, and
		// 0 is not the default in disguise.
		{"budget 1.5 in jobs", []string{"jobs", "--budget", "1.5"}, nil, "--budget 1.5: want"},
		{"budget 1.5 in a dry run", []string{"run", "--dry-run", "--type", "person/upsert", "--budget", "1.5", in}, nil, "--budget 1.5: want"},
		{"budget 0", []string{"status", "1", "--budget", "0"}, nil, "--budget 0: want"},
		{"rate limit 0", []string{"results", "1", "--rate-limit", "0"}, nil, "--rate-limit 0: want"},
		{"rate window 0", []string{"upload", "--job", "1", "--rate-window", "0s", in}, nil, "--rate-window 0s: want"},
		{"rate limit in serve", []string{"serve", "--rate-limit", "-1"}, nil, "--rate-limit -1: want"},
		{"client flag in serve", []string{"serve", "--budget", "0.5"}, nil, "unknown flag: --budget"},
		{"client flag in demo", []string{"demo", "--base-url", "http://x"}, nil, "unknown flag: --base-url"},
		{"unknown type", []string{"run", "--type", "people/upsert", in}, nil, "did you mean person/upsert?"},
		{"unknown type in a dry run", []string{"run", "--dry-run", "--type", "people/upsert", in}, nil, "unknown job type"},
		{"unknown type in create", []string{"create", "--type", "widget/explode"}, nil, "--any-type"},
		{"bad wait", []string{"results", "1", "--wait", "-1s"}, nil, "--wait -1s"},
		{"bad upsert key", []string{"run", "--dry-run", "--type", "person/upsert", "--upsert-key", "foo", in}, nil, `--upsert-key "foo": the documented types take crm_id, email_address, id`},
		{"bad delimiter", []string{"run", "--type", "person/upsert", "--delimiter", "x", in}, nil, "--delimiter"},
		{"bad encoding", []string{"upload", "--job", "1", "--encoding", "ebcdic", in}, nil, "--encoding"},
		{"bad upsert key in upload", []string{"upload", "--job", "1", "--upsert-key", "foo", in}, nil, `--upsert-key "foo": the documented types take`},
		{"bad map", []string{"run", "--type", "person/upsert", "--map", "nofield", in}, nil, `--map "nofield"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = map[string]string{"SALESLOFT_API_KEY": "k", "SALESLOFT_BASE_URL": "http://127.0.0.1:1"}
			}
			var out, errb strings.Builder
			code := Main(context.Background(), tt.args, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
			if code != exitUsage || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errb.String(), tt.want)
			}
		})
	}
}

func TestFailuresExit1(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	good := writePeople(t, 5, nil)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"email_address\":\"a@x.io\"}\n{\"b\":\n{\"c\":3}\n"), 0o600)
	unmapped := filepath.Join(t.TempDir(), "unmapped.csv")
	os.WriteFile(unmapped, []byte("Email Address,Name\na@x.io,A\n"), 0o600)
	tests := []struct {
		name string
		key  string
		args []string
		want []string // substrings of stderr
		not  string   // advice that would not help
	}{
		{"bad key", "wrong-key", []string{"run", "--type", "person/upsert", good}, []string{"401", "API key was refused"}, ""},
		{"missing file", testKey, []string{"run", "--type", "person/upsert", "/no/such/file.jsonl"}, []string{"/no/such/file.jsonl", "no such file"}, ""},
		{"directory", testKey, []string{"run", "--type", "person/upsert", t.TempDir()}, []string{"is a directory"}, ""},
		{"malformed record", testKey, []string{"run", "--type", "person/upsert", bad}, []string{"bad.jsonl:2:", "invalid JSON"}, ""},
		{"unknown job", testKey, []string{"status", "424242"}, []string{"404"}, ""},
		// No column gives what every record needs: skipping records is no way out.
		{"header without identity", testKey, []string{"run", "--type", "person/upsert", unmapped}, []string{"unmapped.csv:1:", `--map "Column=email_address"`}, "--max-rejects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb strings.Builder
			env := map[string]string{"SALESLOFT_API_KEY": tt.key, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": t.TempDir()}
			code := Main(context.Background(), tt.args, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
			if code != exitFailed {
				t.Errorf("exit %d; want 1\n%s", code, errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr %q; want it to contain %q", errb.String(), w)
				}
			}
			if tt.not != "" && strings.Contains(errb.String(), tt.not) {
				t.Errorf("stderr %q; want no %q", errb.String(), tt.not)
			}
			if strings.Contains(errb.String(), "wrong-key") {
				t.Errorf("stderr shows the key: %q", errb.String())
			}
		})
	}
	// A malformed record stops the run before any job exists.
	if jobs := srv.Jobs(testKey); len(jobs) != 0 {
		t.Errorf("%d jobs created; want none (the check pass runs first)", len(jobs))
	}
}

func TestStatusJobsResults(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 50, func(i int) bool { return i == 7 })
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--no-wait", "--name", "nightly", "--results-dir", t.TempDir(), "--json", in)
	if r.code != exitOK {
		t.Fatalf("run --no-wait: exit %d\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if !strings.Contains(r.stderr, "bulkload results") {
		t.Errorf("--no-wait stderr %q; want how to fetch results", r.stderr)
	}
	id := jobIDString(s.JobID)
	r = cli(t, context.Background(), srv, "status", id)
	if r.code != 0 || !strings.Contains(r.stdout, "person/upsert") || !strings.Contains(r.stdout, "nightly") {
		t.Errorf("status: exit %d, %q", r.code, r.stdout)
	}
	r = cli(t, context.Background(), srv, "jobs", "--state", "open,executing,done")
	if r.code != 0 || !strings.Contains(r.stdout, "nightly") {
		t.Errorf("jobs: exit %d, %q", r.code, r.stdout)
	}
	dir := t.TempDir()
	r = cli(t, context.Background(), srv, "results", id, "--results-dir", dir, "--json")
	if r.code != exitPartial {
		t.Fatalf("results: exit %d; want 3 (one failure)\n%s", r.code, r.stderr)
	}
	rs := decodeSummary(t, r.stdout)
	if rs.Succeeded != 49 || rs.Failed != 1 {
		t.Errorf("results summary %+v; want 49 succeeded, 1 failed", rs)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errb strings.Builder
	code := Main(context.Background(), []string{"demo", "--records", "600", "--dir", dir, "--json"}, Env{Stdout: &out, Stderr: &errb})
	if code != exitOK {
		t.Fatalf("demo: exit %d\n%s", code, errb.String())
	}
	s := decodeSummary(t, out.String())
	// 600 people: line 500 malformed and every 97th without an email,
	// rejected before upload; 1% of the rest refused by the emulator.
	if s.Records != 593 || s.Rejected != 7 || s.Failed == 0 || s.Failed > 20 || s.Succeeded != 593-s.Failed || s.State != "done" {
		t.Errorf("demo summary = %+v; want 593 records, 7 rejected, a few failed, the rest succeeded", s)
	}
	for _, f := range []string{s.Files.Success, s.Files.Errors, s.Files.Rejects} {
		if !strings.HasPrefix(f, dir) {
			t.Errorf("file %q not in the demo dir %s", f, dir)
		}
	}
	// Again in the same folder: a new emulator, whose job 1 the first
	// demo's saved run is not of. The demo starts its state afresh.
	out.Reset()
	errb.Reset()
	if code := Main(context.Background(), []string{"demo", "--records", "600", "--dir", dir, "--json"}, Env{Stdout: &out, Stderr: &errb}); code != exitOK {
		t.Fatalf("second demo: exit %d\n%s", code, errb.String())
	}
	if s2 := decodeSummary(t, out.String()); s2.Succeeded != s.Succeeded || strings.Contains(errb.String(), "warning") {
		t.Errorf("second demo: %+v, stderr %q; want the same outcome and no warning", s, errb.String())
	}
	var runs []string
	entries, _ := os.ReadDir(filepath.Join(dir, "state"))
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".lock") { // job locks stay, free
			runs = append(runs, e.Name())
		}
	}
	if len(runs) != 1 {
		t.Errorf("demo state holds %q; want the last run's only", runs)
	}
}

// TestUploadSeveralFiles: upload adds files to one open job; the same
// upload run twice stores nothing twice.
func TestUploadSeveralFiles(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	state := filepath.Join(t.TempDir(), "state")
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": state}
	run := func(args ...string) int {
		var out, errb strings.Builder
		code := Main(context.Background(), args, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
		if code != exitOK {
			t.Logf("%v: exit %d\n%s", args, code, errb.String())
		}
		return code
	}
	id := createOpenJob(t, srv) // an empty open job to upload into
	a, b := writePeople(t, 120, nil), writePeople(t, 80, func(int) bool { return false })
	os.WriteFile(b, []byte(strings.ReplaceAll(string(must(os.ReadFile(b))), "@example.com", "@other.io")), 0o600)
	for _, f := range []string{a, b, a} {
		if code := run("upload", "--job", jobIDString(id), "--batch-size", "50", "--results-dir", t.TempDir(), f); code != exitOK {
			t.Fatalf("upload %s: exit %d", f, code)
		}
	}
	recs := srv.Records(testKey, id)
	if len(recs) != 200 {
		t.Fatalf("job holds %d records; want 120 + 80, the repeated upload storing nothing", len(recs))
	}
	if j, _ := srv.Job(testKey, id); j.State != "open" {
		t.Errorf("job is %s after upload; want still open", j.State)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRejectsKeptWhenNoJob: a run that ends before a job exists keeps its
// rejects under the input's name, not a hidden temporary one.
func TestRejectsKeptWhenNoJob(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := filepath.Join(t.TempDir(), "people.jsonl.gz.jsonl")
	os.WriteFile(in, []byte("[1]\n{\"a\":\n"), 0o600)
	dir := t.TempDir()
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "--max-rejects", "-1", "--results-dir", dir, in)
	if r.code != exitFailed || !strings.Contains(r.stderr, "all 2 were rejected") {
		t.Fatalf("exit %d, %q; want 1 and all rejected", r.code, r.stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "people-rejects.jsonl" {
		t.Fatalf("results dir holds %v; want just people-rejects.jsonl", entries)
	}
	if rows := readLines(t, filepath.Join(dir, "people-rejects.jsonl")); len(rows) != 2 {
		t.Errorf("rejects file has %d rows; want 2", len(rows))
	}
	if n := len(srv.Jobs(testKey)); n != 0 {
		t.Errorf("%d jobs created; want none", n)
	}
}

// TestResumeAfterUpload: a run stopped after its upload (--no-wait) resumes
// without its input, and the summary still counts the records.
func TestResumeAfterUpload(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 130, nil)
	state := filepath.Join(t.TempDir(), "state")
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": state}
	main := func(args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := Main(context.Background(), args, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
		return code, out.String(), errb.String()
	}
	f, _ := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("not json\n") // one reject
	f.Close()
	code, out, errb := main("run", "--type", "person/upsert", "--no-wait", "--batch-size", "50", "--max-rejects", "1", "--results-dir", t.TempDir(), "--json", in)
	if code != exitPartial {
		t.Fatalf("run --no-wait: exit %d; want 3 (a reject)\n%s", code, errb)
	}
	bytes := decodeSummary(t, out).Bytes
	os.Remove(in) // no longer needed once stored
	code, out, errb = main("resume", "--last", "--json")
	if code != exitPartial {
		t.Fatalf("resume: exit %d; want 3 (the run's reject)\n%s", code, errb)
	}
	s := decodeSummary(t, out)
	if s.Records != 130 || s.Batches != 3 || s.Uploaded != 130 || s.Succeeded != 130 || s.State != "done" ||
		s.Rejected != 1 || s.Bytes != bytes || bytes == 0 {
		t.Errorf("resume summary %+v; want 130 records in 3 batches (%d bytes), 1 rejected, all succeeded", s, bytes)
	}
}

// TestQuiet: -q leaves stderr empty on a successful run, and the --json
// summary still goes to stdout.
func TestQuiet(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 50, nil)
	r := cli(t, context.Background(), srv, "run", "--type", "person/upsert", "-q", "--json", "--results-dir", t.TempDir(), in)
	if r.code != exitOK || r.stderr != "" {
		t.Errorf("run -q: exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	if s := decodeSummary(t, r.stdout); s.Succeeded != 50 {
		t.Errorf("summary = %+v; want 50 succeeded", s)
	}
}

// TestInterruptDuringCheck: stopped while the input is being checked, a
// run creates no job, exits 130, and its summary says the counts are of
// what was read before the stop.
func TestInterruptDuringCheck(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitestConfig())
	in := writePeople(t, 100, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if Ctrl-C came at once
	r := cli(t, ctx, srv, "run", "--type", "person/upsert", "--results-dir", t.TempDir(), in)
	if r.code != exitInterrupted {
		t.Fatalf("exit %d; want 130\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "read before the stop") {
		t.Errorf("summary %q; want it to say the counts stop short", r.stderr)
	}
	if n := len(srv.Jobs(testKey)); n != 0 {
		t.Errorf("%d jobs created; want none", n)
	}
}

// TestDryRunReadsEverything: a dry run reads the whole file whatever
// --max-rejects says, fails as a real run would, and reports the cost.
func TestDryRunReadsEverything(t *testing.T) {
	t.Parallel()
	in := writePeople(t, 12000, nil)
	f, _ := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	for range 8 {
		f.WriteString("{not json\n")
	}
	f.Close()
	dir := t.TempDir()
	r := cli(t, context.Background(), nil, "run", "--dry-run", "--json", "--type", "person/upsert", "--max-rejects", "5", "--results-dir", dir, in)
	s := decodeSummary(t, r.stdout)
	if r.code != exitFailed || s.Records != 12000 || s.Rejected != 8 || !strings.Contains(r.stderr, "a real run would stop: too many rejected records (limit 5)") {
		t.Fatalf("dry run: exit %d, %d records, %d rejected\n%s; want 1, 12000 and 8 counted, and the limit named", r.code, s.Records, s.Rejected, r.stderr)
	}
	// 3 uploads, 2 job calls, 120 pages and a few polls, at 0.8 of the
	// 100000/s budget cli sets.
	if c := s.Cost; c == nil || c.Upload != 3 || c.Results != 120 || c.Calls != c.Upload+c.Job+c.Polls+c.Results || c.ErrorsOnlyCalls >= c.Calls {
		t.Errorf("dry run cost %+v; want 3 uploads, 120 results pages, parts adding up", c)
	}
	if len(readLines(t, filepath.Join(dir, "people-rejects.jsonl"))) != 8 {
		t.Errorf("dry run rejects file: want all 8 rejects, named after the input")
	}
}
