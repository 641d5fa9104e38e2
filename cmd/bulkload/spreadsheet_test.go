package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkload/bulkload/api/apitest"
)

// TestSpreadsheetExport is issue 12 tried as a new user would: a
// Windows-1252, ';'-separated export with spreadsheet headers loads with
// --encoding, --map and --upsert-key into CSV results; each result row
// names its input line; a second run reports every person as an update;
// the errors CSV, fixed in place, loads again with run.
func TestSpreadsheetExport(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{})
	dir := t.TempDir()
	in := filepath.Join(dir, "export.csv")
	rows := "Email Address;First Name; Last_Name ;City\r\n" +
		"m\xfcller@example.com;J\xfcrgen;M\xfcller;K\xf6ln\r\n" + // Windows-1252: ü, ö
		"ana@example.com;Ana;Lopez;Sevilla\r\n" +
		"\"bo@example.com\";Bo;\"Smith; Jr.\";Oslo\r\n"
	if err := os.WriteFile(in, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": t.TempDir()}
	args := []string{"run", "--type", "person/upsert", "--encoding", "windows-1252",
		"--map", "Email Address=email_address", "--map", "First Name=first_name", "--map", "City=custom_fields.city",
		"--upsert-key", "email_address", "--results-format", "csv", "--results-dir", dir, "--json", in}
	r := runMain(t, context.Background(), env, nil, args...)
	if r.code != exitOK {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	// " Last_Name " matched last_name loosely: one warning says so.
	if !strings.Contains(r.stderr, "Last_Name") || strings.Count(r.stderr, "warning") != 1 {
		t.Errorf("stderr %q; want one warning about the loosely matched header", r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	got := readCSV(t, s.Files.Success)
	want := [][]string{
		{"_line", "_id", "_status", "_error", "_resource_id", "_upsert_type", "email_address", "first_name", "last_name", "custom_fields.city", "upsert_key"},
		{"2", "1", "success", "", "1", "create", "müller@example.com", "Jürgen", "Müller", "Köln", "email_address"},
		{"3", "2", "success", "", "2", "create", "ana@example.com", "Ana", "Lopez", "Sevilla", "email_address"},
		{"4", "3", "success", "", "3", "create", "bo@example.com", "Bo", "Smith; Jr.", "Oslo", "email_address"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("success CSV:\n%q\nwant\n%q", got, want)
	}
	if s.Lines.Tied != 3 || s.Lines.Unknown != 0 {
		t.Errorf("summary lines %+v; want 3 tied", s.Lines)
	}

	// The same export again, as a new job: every person is now an update.
	r = runMain(t, context.Background(), env, nil, append([]string{"run", "--new-job"}, args[1:]...)...)
	if r.code != exitOK {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
	for _, row := range readCSV(t, decodeSummary(t, r.stdout).Files.Success)[1:] {
		if row[5] != "update" {
			t.Errorf("second run: row %q; want every person updated", row)
		}
	}
}

// TestErrorsCSVLoadsAgain: the errors CSV of a run, fixed in place (as in a
// spreadsheet), loads again with run as it is: its six _ columns dropped.
func TestErrorsCSVLoadsAgain(t *testing.T) {
	t.Parallel()
	failing := emulator(t, apitest.Config{ErrorRate: 1}) // every record fails there
	dir := t.TempDir()
	in := filepath.Join(dir, "people.csv")
	os.WriteFile(in, []byte("email_address,first_name,upsert_key\n"+
		"a@example.com,Ann,email_address\n"+
		"b@example.com,Bob,email_address\n"), 0o600)
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": failing.URL, "XDG_STATE_HOME": t.TempDir()}
	r := runMain(t, context.Background(), env, nil, "run", "--type", "person/upsert", "--results-format", "csv", "--results-dir", dir, "--json", in)
	s := decodeSummary(t, r.stdout)
	if r.code != exitPartial || s.Failed != 2 {
		t.Fatalf("run: exit %d, %+v\n%s", r.code, s, r.stderr)
	}
	rows := readCSV(t, s.Files.Errors)
	if len(rows) != 3 || rows[1][0] != "2" || rows[2][0] != "3" || rows[1][2] != "error" {
		t.Fatalf("errors CSV %q; want two error rows naming lines 2 and 3", rows)
	}
	// Fix it in place: a new first name for Bob, as a spreadsheet would.
	rows[2][len(rows[2])-2] = "Robert"
	f, _ := os.Create(s.Files.Errors)
	w := csv.NewWriter(f)
	w.WriteAll(rows)
	f.Close()
	fixed := emulator(t, apitest.Config{})
	env["SALESLOFT_BASE_URL"] = fixed.URL
	r = runMain(t, context.Background(), env, nil, "run", "--type", "person/upsert", "--results-dir", t.TempDir(), "--json", s.Files.Errors)
	if r.code != exitOK {
		t.Fatalf("run of the fixed errors CSV: exit %d\n%s", r.code, r.stderr)
	}
	s = decodeSummary(t, r.stdout)
	recs := fixed.Records(testKey, s.JobID)
	if s.Succeeded != 2 || len(recs) != 2 || strings.Contains(string(recs[0]), "_line") || !strings.Contains(string(recs[1]), `"first_name":"Robert"`) {
		t.Errorf("fixed errors CSV: %+v, stored %q; want both records, without the _ columns, Bob renamed", s, recs)
	}
}

// TestErrorsOnlyCSVLines: an errors-only run with CSV results names each
// failure's input line in _line, and leaves it empty for a record that
// is on two lines (which of them failed is not known); the summary counts
// both.
func TestErrorsOnlyCSVLines(t *testing.T) {
	t.Parallel()
	failing := emulator(t, apitest.Config{ErrorRate: 1})
	dir := t.TempDir()
	in := filepath.Join(dir, "people.csv")
	os.WriteFile(in, []byte("email_address,first_name,upsert_key\n"+
		"a@example.com,Ann,email_address\n"+
		"b@example.com,Bob,email_address\n"+
		"\n"+
		"a@example.com,Ann,email_address\n"+
		"c@example.com,Cy,email_address\n"), 0o600)
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": failing.URL, "XDG_STATE_HOME": t.TempDir()}
	r := runMain(t, context.Background(), env, nil, "run", "--type", "person/upsert", "--errors-only", "--results-format", "csv", "--results-dir", dir, "--json", in)
	s := decodeSummary(t, r.stdout)
	if r.code != exitPartial || s.Failed != 4 {
		t.Fatalf("run: exit %d, %+v\n%s", r.code, s, r.stderr)
	}
	rows := readCSV(t, s.Files.Errors)
	if len(rows) != 5 || rows[0][0] != "_line" {
		t.Fatalf("errors CSV %q; want a header and 4 rows", rows)
	}
	want := map[string]string{"a@example.com": "", "b@example.com": "3", "c@example.com": "6"}
	for _, row := range rows[1:] {
		if w, ok := want[row[6]]; !ok || row[0] != w {
			t.Errorf("row %q: _line %q; want %q", row, row[0], w)
		}
	}
	if s.Lines.Tied != 2 || s.Lines.Unknown != 2 {
		t.Errorf("summary lines %+v; want 2 tied, 2 unknown", s.Lines)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestRetry: retry loads a job's failed records again as a new job, the
// flags applied to them, and the summary names both jobs.
func TestRetry(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{})
	in := writePeople(t, 300, func(i int) bool { return i%30 == 0 })
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": t.TempDir()}
	dir := t.TempDir()
	r := runMain(t, context.Background(), env, nil, "run", "--type", "person/upsert", "--results-dir", dir, "--results-format", "csv", "--json", in)
	if s := decodeSummary(t, r.stdout); r.code != exitPartial || s.Failed != 10 {
		t.Fatalf("run: exit %d, %+v", r.code, s)
	}
	// The failures were the emulator's marked addresses: the retry fixes
	// them by dropping the field the mark is in and setting it anew (and a
	// source). Its results go where the run's went, as CSV like them.
	r = runMain(t, context.Background(), env, nil, "retry", "1", "--map", "email_address=",
		"--set", "email_address=fixed@example.com", "--set", "custom_fields.source=retry", "--json")
	if r.code != exitOK {
		t.Fatalf("retry: exit %d\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if s.RetryOf != 1 || s.JobID != 2 || s.Records != 10 || s.Succeeded != 10 || s.Command != "retry" {
		t.Errorf("retry summary %+v; want job 2 retrying job 1's 10 failures, all succeeded", s)
	}
	if want := filepath.Join(dir, "2-success.csv"); s.Files.Success != want {
		t.Errorf("retry results in %s; want %s, beside the run's and in its format", s.Files.Success, want)
	}
	recs := srv.Records(testKey, 2)
	if len(recs) != 10 || !strings.Contains(string(recs[0]), `"custom_fields":{"source":"retry"}`) || !strings.Contains(string(recs[0]), `"email_address":"fixed@example.com"`) {
		t.Errorf("retried records %q; want the 10 failures, mapped", recs)
	}
	r = runMain(t, context.Background(), env, nil, "retry", "2")
	if r.code != exitOK || !strings.Contains(r.stderr, "Job 2 has no failed records: nothing to retry") {
		t.Errorf("retry of a job with no failures: exit %d\n%s", r.code, r.stderr)
	}
}

// TestRejectsCSVLoadsAgain: with CSV results, rejected rows go to a CSV
// of _line,_error and the row as the input has it (its header as
// written), which, fixed in place, loads again with the same flags.
func TestRejectsCSVLoadsAgain(t *testing.T) {
	t.Parallel()
	srv := emulator(t, apitest.Config{})
	dir := t.TempDir()
	in := filepath.Join(dir, "export.csv")
	os.WriteFile(in, []byte("Email Address;Name\nann@example.com;Ann\n;\"Bob; Jr.\"\ncy@example.com;Cy\n"), 0o600)
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": t.TempDir()}
	flags := []string{"--type", "person/upsert", "--map", "Email Address=email_address", "--map", "Name=first_name",
		"--upsert-key", "email_address", "--results-format", "csv", "--json"}
	r := runMain(t, context.Background(), env, nil, append(append([]string{"run"}, flags...), "--max-rejects", "-1", "--results-dir", dir, in)...)
	s := decodeSummary(t, r.stdout)
	if r.code != exitPartial || s.Rejected != 1 || filepath.Base(s.Files.Rejects) != "1-rejects.csv" {
		t.Fatalf("run: exit %d, %+v\n%s", r.code, s, r.stderr)
	}
	rows := readCSV(t, s.Files.Rejects)
	want := [][]string{{"_line", "_error", "Email Address", "Name"}, {"3", rows[1][1], "", "Bob; Jr."}}
	if fmt.Sprint(rows) != fmt.Sprint(want) || !strings.Contains(rows[1][1], "email_address") {
		t.Fatalf("rejects CSV %q; want %q with the reason", rows, want)
	}
	rows[1][2] = "bob@example.com" // fixed in a spreadsheet (saved with commas)
	f, _ := os.Create(s.Files.Rejects)
	csv.NewWriter(f).WriteAll(rows)
	f.Close()
	r = runMain(t, context.Background(), env, nil, append(append([]string{"run"}, flags...), "--results-dir", t.TempDir(), s.Files.Rejects)...)
	if r.code != exitOK {
		t.Fatalf("run of the fixed rejects CSV: exit %d\n%s", r.code, r.stderr)
	}
	recs := srv.Records(testKey, decodeSummary(t, r.stdout).JobID)
	if len(recs) != 1 || !strings.Contains(string(recs[0]), `"email_address":"bob@example.com","first_name":"Bob; Jr."`) {
		t.Errorf("stored %q; want Bob, fixed, without the _ columns", recs)
	}
}
