package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/load"
)

// person is a record the emulator executes successfully.
func person(email string) string {
	return fmt.Sprintf(`{"email_address":%q,"upsert_key":"email_address"}`, email)
}

// csvPerson is the record the chunker makes of a CSV row
// email_address,first_name,upsert_key.
func csvPerson(email, first string) string {
	return fmt.Sprintf(`{"email_address":%q,"first_name":%q,"upsert_key":"email_address"}`, email, first)
}

// corpusFile is a committed input under testdata/corpus.
func corpusFile(name string) func(t *testing.T) string {
	return func(t *testing.T) string {
		t.Helper()
		p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "corpus", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// generated writes an input made at run time (binary or big) to a
// temporary file named name.
func generated(name string, write func(f *os.File) error) func(t *testing.T) string {
	return func(t *testing.T) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func lines(ls ...string) func(f *os.File) error {
	return func(f *os.File) error {
		_, err := f.WriteString(strings.Join(ls, "\n") + "\n")
		return err
	}
}

// people returns n person records.
func people(n int) []string {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = person(fmt.Sprintf("p%d@x.io", i))
	}
	return recs
}

// hugeLine is a record of 50 MB on one line: far over the 1 MiB record cap.
const hugeLine = 50 << 20

// wantReject is a row the rejects file must hold.
type wantReject struct {
	line   int
	reason string // a prefix of the row's reason
	record string // a substring of the row's record
}

// corpusCase is one bad or odd input and what the CLI must make of it.
type corpusCase struct {
	name  string
	input func(t *testing.T) string
	args  []string
	// The run with the default --max-rejects 0: its exit code and its one
	// stderr line ("" when it succeeds), in which $IN stands for the
	// input's absolute path.
	code int
	msg  string
	// The run with --max-rejects -1: its exit code and stderr line (when
	// it fails), the records the job must hold, each exactly once, and
	// the rows of the rejects file, in input order.
	allCode int
	allMsg  string
	stored  []string
	rejects []wantReject
	batches int // if not 0, the batches the summary must count
}

func corpus() []corpusCase {
	nulls := []string{
		person("a@x.io"),
		"{\"email_address\":\"x\x00y@x.io\",\"upsert_key\":\"email_address\"}", // a raw NUL in a string
		"\x00",                    // a NUL alone
		person("b@x.io") + "\x00", // a NUL after the record
		person("c@x.io"),
	}
	latin1 := []string{
		person("a@x.io"),
		"{\"email_address\":\"jos\xe9@x.io\",\"upsert_key\":\"email_address\"}", // Latin-1, not UTF-8
		"{\"\xff\xfe\":1}", // invalid UTF-8 in a key
		person("b@x.io"),
		"{\"first_name\":\"\xed\xa0\x80\"}", // an encoded surrogate
		person("c@x.io"),
	}
	five := people(5001)
	return []corpusCase{
		{
			name: "truncated JSON Lines", input: corpusFile("truncated.jsonl"),
			code: 1, msg: "$IN:3:36: invalid JSON: unexpected end of JSON input",
			allCode: 3, stored: []string{person("a@x.io"), person("b@x.io")},
			rejects: []wantReject{{3, "invalid JSON: unexpected end of JSON input", `{"email_address":"c@x.io","upsert_k`}},
		},
		{
			name: "truncated JSON array", input: corpusFile("truncated-array.json"),
			code: 1, msg: "$IN:3:37: invalid JSON: unexpected end of input: the JSON array is not closed",
			allCode: 1, allMsg: "$IN:3:37: invalid JSON: unexpected end of input: the JSON array is not closed",
		},
		{
			name: "bare values and an array instead of objects", input: corpusFile("bare-values.jsonl"),
			code: 1, msg: "$IN:2:1: record is not a JSON object",
			allCode: 3, stored: []string{person("a@x.io"), person("c@x.io")},
			rejects: []wantReject{
				{2, "record is not a JSON object", "42"},
				{3, "record is not a JSON object", `"a@x.io"`},
				{4, "record is not a JSON object", "null"},
				{5, "record is not a JSON object", "true"},
				{6, "record is not a JSON object", `[{"email_address":"b@x.io"`},
			},
		},
		{
			name: "array elements that are not objects", input: corpusFile("array-elements.json"),
			code: 1, msg: "$IN:3:1: record is not a JSON object",
			allCode: 3, stored: []string{person("a@x.io"), person("c@x.io")},
			rejects: []wantReject{
				{3, "record is not a JSON object", "42"},
				{4, "record is not a JSON object", `"b@x.io"`},
				{5, "record is not a JSON object", `[{"email_address":"b@x.io"}]`},
				{6, "record is not a JSON object", "null"},
			},
		},
		{
			name: "a bare value for a whole file", input: corpusFile("bare-value.json"),
			code: 1, msg: "$IN:1:1: cannot detect input format: first byte '4' is neither '[' nor '{' (name the format with --format jsonl, json, csv or tsv)",
			allCode: 1, allMsg: "$IN:1:1: cannot detect input format: first byte '4' is neither '[' nor '{' (name the format with --format jsonl, json, csv or tsv)",
		},
		{
			name: "a bare value read as JSON Lines", input: corpusFile("bare-value.json"), args: []string{"--format", "jsonl"},
			code: 1, msg: "$IN:1:1: record is not a JSON object",
			allCode: 1, allMsg: "$IN holds no valid records: all 1 were rejected",
		},
		{
			name: "invalid UTF-8", input: generated("latin1.jsonl", lines(latin1...)),
			code: 1, msg: `$IN:2:22: invalid UTF-8: invalid UTF-8 byte "\xe9" in string (try --encoding windows-1252)`,
			allCode: 3, stored: []string{person("a@x.io"), person("b@x.io"), person("c@x.io")},
			rejects: []wantReject{
				{2, `invalid UTF-8: invalid UTF-8 byte "\xe9" in string`, "jos\uFFFD@x.io"},
				{3, "invalid UTF-8", "\uFFFD"},
				{5, "invalid UTF-8", `{"first_name":"`},
			},
		},
		{
			name: "NUL bytes", input: generated("nul.jsonl", lines(nulls...)),
			code: 1, msg: `$IN:2:20: invalid JSON: invalid character '\x00' in string literal`,
			allCode: 3, stored: []string{person("a@x.io"), person("c@x.io")},
			rejects: []wantReject{
				{2, `invalid JSON: invalid character '\x00' in string literal`, "x\x00y@x.io"},
				{3, `invalid JSON: invalid character '\x00' looking for beginning of value`, "\x00"},
				{4, `invalid JSON: invalid character '\x00' after top-level value`, `"b@x.io"`},
			},
		},
		{
			name: "a 50 MB line", input: generated("huge.jsonl", func(f *os.File) error {
				fmt.Fprintln(f, person("a@x.io"))
				fmt.Fprint(f, `{"email_address":"big@x.io","notes":"`)
				chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
				for range hugeLine / len(chunk) {
					if _, err := f.Write(chunk); err != nil {
						return err
					}
				}
				fmt.Fprintln(f, `"}`)
				_, err := fmt.Fprintln(f, person("b@x.io"))
				return err
			}),
			code: 1, msg: "$IN:2:1048577: record too large",
			allCode: 3, stored: []string{person("a@x.io"), person("b@x.io")},
			rejects: []wantReject{{2, "record too large", `{"email_address":"big@x.io","notes":"0123`}},
		},
		{
			name: "UTF-8 BOM", input: corpusFile("bom.jsonl"),
			code: 0, allCode: 0, stored: []string{person("a@x.io"), person("b@x.io")},
		},
		{
			name: "CSV with a BOM and CRLF", input: corpusFile("bom-crlf.csv"),
			code: 0, allCode: 0, stored: []string{csvPerson("a@x.io", "Ann"), csvPerson("b@x.io", "Bo")},
		},
		{
			name: "CRLF, no final newline", input: corpusFile("crlf.jsonl"),
			code: 0, allCode: 0, stored: []string{person("a@x.io"), person("b@x.io"), person("c@x.io")},
		},
		{
			name: "empty file", input: corpusFile("empty.jsonl"),
			code: 1, msg: "$IN holds no records: nothing to load",
			allCode: 1, allMsg: "$IN holds no records: nothing to load",
		},
		{
			name: "blank lines only", input: corpusFile("blank-lines.jsonl"),
			code: 1, msg: "$IN holds no records: nothing to load",
			allCode: 1, allMsg: "$IN holds no records: nothing to load",
		},
		{
			// --no-wait: the point is the batch boundary, not 50 pages of results.
			name: "exactly 5,000 records", input: generated("5000.jsonl", lines(five[:5000]...)), args: []string{"--no-wait"},
			code: 0, allCode: 0, stored: five[:5000], batches: 1,
		},
		{
			name: "5,001 records", input: generated("5001.jsonl", lines(five...)), args: []string{"--no-wait"},
			code: 0, allCode: 0, stored: five, batches: 2,
		},
		{
			name: "CSV with ragged rows", input: corpusFile("ragged.csv"),
			code: 1, msg: "$IN:3:1: wrong number of fields: row has 2 fields, header has 3",
			allCode: 3, stored: []string{csvPerson("a@x.io", "Ann"), csvPerson("d@x.io", "Di")},
			rejects: []wantReject{
				{3, "wrong number of fields: row has 2 fields, header has 3", "b@x.io,Bo"},
				{4, "wrong number of fields: row has 4 fields, header has 3", "c@x.io,Cy,email_address,extra"},
			},
		},
		{
			name: "CSV with a duplicate header", input: corpusFile("duplicate-header.csv"),
			code: 1, msg: `$IN:1:26: invalid CSV header: column 3 "email_address": named twice`,
			allCode: 1, allMsg: `$IN:1:26: invalid CSV header: column 3 "email_address": named twice`,
		},
		{
			// The quote is never closed, so the field runs to the end of the
			// file (RFC 4180): the last row is part of the rejected one.
			name: "CSV with an unterminated quote", input: corpusFile("unterminated-quote.csv"),
			code: 1, msg: `$IN:3:8: extraneous or missing " in quoted field`,
			allCode: 3, stored: []string{csvPerson("a@x.io", "Ann")},
			rejects: []wantReject{{3, `extraneous or missing " in quoted field`, "b@x.io,\"Bo, unterminated,email_address\nc@x.io"}},
		},
		{
			name: "gzip cut short", input: generated("people.jsonl.gz", func(f *os.File) error {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write([]byte(strings.Join(people(2000), "\n")))
				zw.Close()
				_, err := f.Write(b.Bytes()[:b.Len()/2])
				return err
			}),
			code: 1, msg: "chunker: $IN: read: unexpected EOF (the compressed input is cut short)",
			allCode: 1, allMsg: "chunker: $IN: read: unexpected EOF (the compressed input is cut short)",
		},
		{
			name: "a directory", input: func(t *testing.T) string { return t.TempDir() },
			code: 1, msg: "input $IN is a directory, not a file",
			allCode: 1, allMsg: "input $IN is a directory, not a file",
		},
		{
			name: "a missing file", input: func(t *testing.T) string { return filepath.Join(t.TempDir(), "missing.jsonl") },
			code: 1, msg: "input: stat $IN: no such file or directory",
			allCode: 1, allMsg: "input: stat $IN: no such file or directory",
		},
	}
}

// TestCorpus runs every input of the corpus twice through the whole CLI
// against the emulator: with --max-rejects 0 the first bad record stops
// the run with one located line on stderr and no job; with --max-rejects
// -1 every valid record is stored exactly once and every bad one is in the
// rejects file with its line and reason. No run panics or prints a trace
// (cli checks).
func TestCorpus(t *testing.T) {
	t.Parallel()
	for _, tc := range corpus() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.input(t)
			srv := emulator(t, apitestConfig())
			base := append([]string{"run", "--type", "person/upsert", "--json", "--results-dir", t.TempDir()}, tc.args...)

			// --max-rejects 0: stop at the first bad record.
			r := cli(t, context.Background(), srv, append(base, in)...)
			checkExit(t, "default", r, tc.code, tc.msg, in)
			if tc.code == exitFailed {
				if jobs := srv.Jobs(testKey); len(jobs) != 0 {
					t.Errorf("default: %d jobs created; want none (the check pass runs first)", len(jobs))
				}
			} else {
				checkStored(t, srv, decodeSummary(t, r.stdout).JobID, tc.stored)
			}

			// --max-rejects -1: keep every good record, reject the rest.
			jobsBefore := len(srv.Jobs(testKey))
			r = cli(t, context.Background(), srv, append(base, "--max-rejects", "-1", in)...)
			checkExit(t, "--max-rejects -1", r, tc.allCode, tc.allMsg, in)
			if tc.allCode == exitFailed {
				if n := len(srv.Jobs(testKey)) - jobsBefore; n != 0 {
					t.Errorf("--max-rejects -1: %d jobs created; want none", n)
				}
				return
			}
			s := decodeSummary(t, r.stdout)
			checkStored(t, srv, s.JobID, tc.stored)
			if s.Records != int64(len(tc.stored)) || s.Rejected != int64(len(tc.rejects)) {
				t.Errorf("summary: %d records, %d rejected; want %d and %d", s.Records, s.Rejected, len(tc.stored), len(tc.rejects))
			}
			if tc.batches != 0 && s.Batches != int64(tc.batches) {
				t.Errorf("summary: %d batches; want %d", s.Batches, tc.batches)
			}
			if !slices.Contains(tc.args, "--no-wait") && (s.Succeeded != int64(len(tc.stored)) || s.State != "done") {
				t.Errorf("summary: %d succeeded, state %q; want %d and done", s.Succeeded, s.State, len(tc.stored))
			}
			checkRejects(t, s.Files.Rejects, in, tc.rejects)
		})
	}
}

// checkExit checks a run's exit code and, when it failed, that stderr is
// the one line "bulkload: " + msg.
func checkExit(t *testing.T, run string, r result, code int, msg, in string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d; want %d\nstderr: %s", run, r.code, code, r.stderr)
	}
	if code != exitFailed {
		return
	}
	want := "bulkload: " + strings.ReplaceAll(msg, "$IN", in) + "\n"
	if run == "default" && strings.HasPrefix(msg, "$IN:") && !strings.Contains(msg, "format") && !strings.Contains(msg, "invalid CSV header") && !strings.Contains(msg, "not closed") {
		// A bad record: the error says how to skip it and load the rest.
		want = strings.TrimSuffix(want, "\n") + " (to skip bad records and load the rest, pass --max-rejects N, or -1 for any number)\n"
		if strings.Contains(msg, "record too large") {
			want = strings.Replace(want, " (to skip", ": the largest record accepted is 1 MiB (skip it with --max-rejects)", 1)
			want = want[:strings.Index(want, "--max-rejects)")+len("--max-rejects)")] + "\n"
		}
	}
	if strings.Contains(msg, "holds no valid records") {
		want = strings.TrimSuffix(want, "\n") + "; rejected records are in " // and the file's name
		if !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: stderr = %q; want one line starting %q", run, r.stderr, want)
		}
		return
	}
	if r.stderr != want {
		t.Errorf("%s: stderr = %q; want the one line %q", run, r.stderr, want)
	}
}

// checkStored checks that job id holds exactly the records want, each
// once. Batches are uploaded in parallel, so their order is free.
func checkStored(t *testing.T, srv *apitest.Server, id int64, want []string) {
	t.Helper()
	if len(want) == 0 {
		return
	}
	got := srv.Records(testKey, id)
	if len(got) != len(want) {
		t.Fatalf("job %d holds %d records; want %d", id, len(got), len(want))
	}
	seen := make(map[string]int, len(got))
	for _, r := range got {
		seen[string(r)]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Fatalf("job %d holds %.200q %d times; want once", id, w, seen[w])
		}
	}
}

// checkRejects checks the rejects file's rows against want.
func checkRejects(t *testing.T, path, in string, want []wantReject) {
	t.Helper()
	if len(want) == 0 {
		if path != "" {
			t.Errorf("rejects file %s; want none", path)
		}
		return
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("rejects file %q: %v; want one of mode 0600", path, err)
	}
	rows := readLines(t, path)
	if len(rows) != len(want) {
		t.Fatalf("rejects file has %d rows; want %d:\n%s", len(rows), len(want), strings.Join(rows, "\n"))
	}
	for i, w := range want {
		var row load.RejectRow
		if err := json.Unmarshal([]byte(rows[i]), &row); err != nil {
			t.Fatalf("rejects row %d: %v", i+1, err)
		}
		if row.Source != in || row.Line != w.line || row.Column < 1 || !strings.HasPrefix(row.Reason, w.reason) || !strings.Contains(row.Record, w.record) {
			t.Errorf("rejects row %d = %+.300v; want %s:%d, reason %q, record containing %q", i+1, row, in, w.line, w.reason, w.record)
		}
	}
}

// TestDryRunRejectsIntoNewDir: a dry run creates its results directory
// when it has rejects to write there, as a real run does.
func TestDryRunRejectsIntoNewDir(t *testing.T) {
	t.Parallel()
	in := corpusFile("bare-values.jsonl")(t)
	dir := filepath.Join(t.TempDir(), "new", "results")
	r := cli(t, context.Background(), nil, "run", "--dry-run", "--json", "--max-rejects", "-1", "--results-dir", dir, in)
	if r.code != exitPartial {
		t.Fatalf("exit %d; want 3\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if filepath.Dir(s.Files.Rejects) != dir {
		t.Errorf("rejects file %q; want one in %s", s.Files.Rejects, dir)
	}
	for _, tc := range corpus() {
		if tc.name == "bare values and an array instead of objects" {
			checkRejects(t, s.Files.Rejects, in, tc.rejects)
		}
	}
}
