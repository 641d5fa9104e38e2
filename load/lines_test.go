package load_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	ctx := stopAfterRows(t, l, 1500)
	rep, err := l.Run(ctx, load.Input{Path: in, BatchSize: 100}, load.RunOptions{Type: "person/upsert"})
	if !errors.Is(err, context.Canceled) {
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

// errLoader is loader reading errors-only results.
func errLoader(t *testing.T, srv *apitest.Server, stateDir, resultsDir string) *load.Loader {
	t.Helper()
	c, err := api.NewClient(api.Config{APIKey: testKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	l, err := load.New(load.Config{Client: c, StateDir: stateDir, ResultsDir: resultsDir, Workers: 2, ErrorsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// lineRow is a JSON Lines result row as the line checks read it.
type lineRow struct {
	Line   *int            `json:"line"`
	File   string          `json:"file"`
	Record json.RawMessage `json:"record"`
	Status api.Status      `json:"status"`
}

func readRows(t *testing.T, path string) []lineRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []lineRow
	for _, s := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r lineRow
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			t.Fatalf("row %s: %v", s, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// Errors-only reads name the line of each error row whose record starts on
// one line of the input, and leave it empty where the record repeats on
// other lines: under out-of-order execution, uploads in doubt, and an
// errors-only read interrupted and resumed.
func TestErrorsOnlyLinesUnderFaults(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: 20000, OutOfOrder: true, Seed: 5,
		ErrorRate: 0.25, FailRecords: "@fail.example",
		Faults: apitest.Faults{ErrorAfterStore: 0.15, ResetAfterStore: 0.1}})
	t.Cleanup(srv.Close)
	dir, state := t.TempDir(), t.TempDir()
	in, want := repeatsInput(t, dir)
	l := errLoader(t, srv, state, dir)
	ctx := stopAfterRows(t, l, 300)
	rep, err := l.Run(ctx, load.Input{Path: in, BatchSize: 100}, load.RunOptions{Type: "person/upsert"})
	if !errors.Is(err, context.Canceled) || rep.Written == 0 || rep.Lines.Tied == 0 {
		t.Fatalf("first run: %+v, %v; want it interrupted while reading results, some lines tied", rep, err)
	}
	srv.SetFaults(apitest.Faults{})
	rep, err = errLoader(t, srv, state, dir).Resume(context.Background(), rep.JobID, load.ResumeOptions{})
	if err != nil || rep.Succeeded+rep.Failed != 4000 || !rep.ErrorsOnly {
		t.Fatalf("resume: %+v, %v", rep, err)
	}
	job, _ := srv.Job(testKey, rep.JobID)
	rows := readRows(t, rep.Files.Errors)
	if int64(len(rows)) != job.Errors || rep.Failed != job.Errors {
		t.Fatalf("%d error rows, %d failed; want the job's %d", len(rows), rep.Failed, job.Errors)
	}
	checkErrorLines(t, rows, want, rep)
}

// repeatsInput writes 4,000 people to dir, a blank line before every
// seventh, 80 of them (@fail.example: they fail) 20 records each on 4
// lines. want maps each email to its line, 0 where it repeats.
func repeatsInput(t *testing.T, dir string) (string, map[string]int) {
	t.Helper()
	in := filepath.Join(dir, "people.jsonl")
	var b strings.Builder
	want := map[string]int{}
	line := 0
	for i := range 4000 {
		if i%7 == 0 {
			b.WriteString("\n")
			line++
		}
		line++
		email := "p" + strconv.Itoa(i) + "@example.com"
		if i%50 == 0 {
			email = "r" + strconv.Itoa(i%1000) + "@fail.example"
		}
		b.WriteString(`{"email_address":"` + email + `","upsert_key":"email_address"}` + "\n")
		if _, seen := want[email]; seen {
			want[email] = 0
		} else {
			want[email] = line
		}
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return in, want
}

// checkErrorLines checks the error rows of repeatsInput: each names the
// line of its record, none where the record repeats, and rep counts them
// (over every read of the job's errors).
func checkErrorLines(t *testing.T, rows []lineRow, want map[string]int, rep load.Report) {
	t.Helper()
	var tied, repeats int64
	seen := map[string]bool{}
	for _, r := range rows {
		e := email(t, r.Record)
		w, ok := want[e]
		switch {
		case !ok || r.Status != api.StatusError:
			t.Fatalf("row %+v: not an error row of the input", r)
		case w == 0 && r.Line != nil:
			t.Fatalf("row of %s (on several lines) names line %d; want none", e, *r.Line)
		case w != 0 && (r.Line == nil || *r.Line != w):
			t.Fatalf("row of %s names line %v; want %d", e, r.Line, w)
		case w != 0 && seen[e]:
			t.Fatalf("two rows of %s", e)
		}
		seen[e] = true
		if w == 0 {
			repeats++
		} else {
			tied++
		}
	}
	if repeats != 80 {
		t.Errorf("%d rows of repeated records; want all 80 failed", repeats)
	}
	if rep.Lines.Tied != tied || rep.Lines.Unknown != repeats {
		t.Errorf("Lines = %+v; want %d tied, %d unknown", rep.Lines, tied, repeats)
	}
}

// An errors-only Results read of a run's job, interrupted, continues from
// its cursor and ties the rows of both reads.
func TestErrorsOnlyResultsContinued(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: apitest.NoLimit, Seed: 9,
		ErrorRate: 0.3, FailRecords: "@fail.example", Faults: apitest.Faults{Latency: 5 * time.Millisecond}})
	t.Cleanup(srv.Close)
	dir, state := t.TempDir(), t.TempDir()
	in, want := repeatsInput(t, t.TempDir())
	rep, err := loader(t, srv, state, dir).Run(context.Background(), load.Input{Path: in, BatchSize: 500}, load.RunOptions{Type: "person/upsert", NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	id := rep.JobID
	for j, _ := srv.Job(testKey, id); j.State != "done"; j, _ = srv.Job(testKey, id) {
		time.Sleep(5 * time.Millisecond)
	}
	job, _ := srv.Job(testKey, id)

	l := errLoader(t, srv, state, dir)
	ctx := stopAfterRows(t, l, 200)
	first, err := l.Results(ctx, id, load.ResultsOptions{})
	if !errors.Is(err, context.Canceled) || first.Written == 0 || first.Written >= job.Errors || first.Lines.Tied == 0 {
		t.Fatalf("first read: %+v, %v; want it interrupted with some rows tied", first, err)
	}
	rep, err = errLoader(t, srv, state, dir).Results(context.Background(), id, load.ResultsOptions{})
	if err != nil || rep.Failed != job.Errors || rep.Written+first.Written != job.Errors {
		t.Fatalf("second read: %+v, %v; want the rest of the job's %d errors (first read: %d)", rep, err, job.Errors, first.Written)
	}
	rows := readRows(t, rep.Files.Errors)
	if int64(len(rows)) != job.Errors {
		t.Fatalf("%d error rows; want %d", len(rows), job.Errors)
	}
	checkErrorLines(t, rows, want, rep)
}

// A job filled by two uploads, its failures read by an errors-only Results:
// each row names its file and line, except a record in both files.
func TestErrorsOnlyLinesOfUploads(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: apitest.NoLimit, FailRecords: "@fail.example"})
	t.Cleanup(srv.Close)
	dir, state := t.TempDir(), t.TempDir()
	person := func(email string) string {
		return `{"email_address":"` + email + `","upsert_key":"email_address"}` + "\n"
	}
	var a strings.Builder
	for i := range 700 {
		switch i {
		case 4:
			a.WriteString(person("both@fail.example")) // line 5
		case 7:
			a.WriteString(person("a8@fail.example")) // line 8
		case 650:
			a.WriteString(person("a651@fail.example"))
		default:
			a.WriteString(person("a" + strconv.Itoa(i) + "@example.com"))
		}
	}
	fa := filepath.Join(t.TempDir(), "a.jsonl")
	fb := filepath.Join(t.TempDir(), "b.jsonl")
	os.WriteFile(fa, []byte(a.String()), 0o600)
	os.WriteFile(fb, []byte("\n"+person("both@fail.example")+person("b3@fail.example")), 0o600)
	l := loader(t, srv, state, dir)
	job, err := l.Create(context.Background(), "person/upsert", "two files")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{fa, fb} {
		if _, err := l.Upload(context.Background(), job.ID, load.Input{Path: in, BatchSize: 300}, load.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Ready(context.Background(), job.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := errLoader(t, srv, state, dir).Results(context.Background(), job.ID, load.ResultsOptions{Wait: time.Minute})
	if err != nil || rep.Failed != 5 || rep.Written != 5 {
		t.Fatalf("errors-only results: %+v, %v; want 5 failures written", rep, err)
	}
	want := map[string]string{"both@fail.example": "", "a8@fail.example": fa + ":8", "a651@fail.example": fa + ":651", "b3@fail.example": fb + ":3"}
	for _, r := range readRows(t, rep.Files.Errors) {
		e := email(t, r.Record)
		got := ""
		if r.Line != nil {
			got = r.File + ":" + strconv.Itoa(*r.Line)
		}
		if w, ok := want[e]; !ok || got != w {
			t.Errorf("row of %s names %q; want %q", e, got, w)
		}
	}
	if rep.Lines.Tied != 3 || rep.Lines.Unknown != 2 {
		t.Errorf("Lines = %+v; want 3 tied, 2 unknown", rep.Lines)
	}
}

// Standard input makes no index: errors-only rows have no line, and are
// counted as unknown.
func TestErrorsOnlyLinesStdin(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: apitest.NoLimit, FailRecords: "@fail.example"})
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	in := `{"email_address":"a@fail.example","upsert_key":"email_address"}` + "\n" +
		`{"email_address":"b@example.com","upsert_key":"email_address"}` + "\n" +
		`{"email_address":"c@fail.example","upsert_key":"email_address"}` + "\n"
	rep, err := errLoader(t, srv, t.TempDir(), dir).Run(context.Background(), load.Input{Reader: strings.NewReader(in), Format: "jsonl"}, load.RunOptions{Type: "person/upsert"})
	if err != nil || rep.Failed != 2 || rep.Written != 2 {
		t.Fatalf("run from a reader: %+v, %v; want 2 failures written", rep, err)
	}
	for _, r := range readRows(t, rep.Files.Errors) {
		if r.Line != nil {
			t.Errorf("row %+v names a line; want none without an index", r)
		}
	}
	if rep.Lines.Tied != 0 || rep.Lines.Unknown != 2 {
		t.Errorf("Lines = %+v; want 2 unknown", rep.Lines)
	}
}

// A Results read interrupted and continued, in either mode, ties the rows
// of the second read as a whole read would: every row that names a line
// names the line of its own record. The input is made so that a
// continued full read that forgot where the first stopped would go wrong:
// record 50 of each batch repeats the first record of the batch before.
// The emulator stores each batch under consecutive ids, so a row's id
// gives its line.
func TestResultsContinuedLines(t *testing.T) {
	t.Parallel()
	for _, errorsOnly := range []bool{false, true} {
		name := "full"
		if errorsOnly {
			name = "errors-only"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const batch, n = 70, 2800
			srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: apitest.NoLimit, Seed: 4,
				ErrorRate: 0.5, Faults: apitest.Faults{Latency: 3 * time.Millisecond}})
			t.Cleanup(srv.Close)
			dir, state := t.TempDir(), t.TempDir()
			in := filepath.Join(t.TempDir(), "people.jsonl")
			var b strings.Builder
			for i := range n {
				e := "p" + strconv.Itoa(i) + "@example.com"
				switch {
				case i%batch == 0:
					e = "h" + strconv.Itoa(i/batch) + "@example.com"
				case i%batch == 50 && i > batch:
					e = "h" + strconv.Itoa(i/batch-1) + "@example.com"
				}
				b.WriteString(`{"email_address":"` + e + `","upsert_key":"email_address"}` + "\n")
			}
			os.WriteFile(in, []byte(b.String()), 0o600)
			rep, err := loader(t, srv, state, dir).Run(context.Background(), load.Input{Path: in, BatchSize: batch}, load.RunOptions{Type: "person/upsert", NoWait: true})
			if err != nil {
				t.Fatal(err)
			}
			id := rep.JobID
			for j, _ := srv.Job(testKey, id); j.State != "done"; j, _ = srv.Job(testKey, id) {
				time.Sleep(5 * time.Millisecond)
			}
			// lineOf[row id]: batches are stored whole; the first record of
			// each names its batch.
			recs := srv.Records(testKey, id)
			lineOf := make([]int, len(recs)+1)
			for s := 0; s < len(recs); s += batch {
				var k int
				if _, err := fmt.Sscanf(email(t, recs[s]), "h%d@", &k); err != nil {
					t.Fatalf("row %d: %s does not start a batch", s+1, recs[s])
				}
				for i := range batch {
					lineOf[s+i+1] = k*batch + i + 1
				}
			}

			newLoader := loader
			if errorsOnly {
				newLoader = errLoader
			}
			l := newLoader(t, srv, state, dir)
			ctx := stopAfterRows(t, l, 500)
			first, err := l.Results(ctx, id, load.ResultsOptions{})
			if !errors.Is(err, context.Canceled) || first.Written == 0 {
				t.Fatalf("first read: %+v, %v; want it interrupted", first, err)
			}
			rep, err = newLoader(t, srv, state, dir).Results(context.Background(), id, load.ResultsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			for _, f := range []string{rep.Files.Success, rep.Files.Errors} {
				if f != "" {
					data, _ := os.ReadFile(f)
					rows = append(rows, strings.Split(strings.TrimSpace(string(data)), "\n")...)
				}
			}
			var tied int64
			for _, r := range rows {
				var row struct {
					ID   int64 `json:"id"`
					Line *int  `json:"line"`
				}
				if err := json.Unmarshal([]byte(r), &row); err != nil {
					t.Fatal(err)
				}
				if row.Line != nil {
					if *row.Line != lineOf[row.ID] {
						t.Fatalf("row %s names line %d; want %d (first read wrote %d rows)", r, *row.Line, lineOf[row.ID], first.Written)
					}
					tied++
				}
			}
			if int64(len(rows)) != first.Written+rep.Written || rep.Lines.Tied != tied || rep.Lines.Tied+rep.Lines.Unknown != int64(len(rows)) {
				t.Errorf("%d rows, %d tied; reports %+v and %+v", len(rows), tied, first, rep)
			}
		})
	}
}

// A job that also takes records uploaded from standard input (read once,
// never indexed) ties no row to a line, in either mode: such a record with
// the content of an indexed one would otherwise take that record's line.
// Here the stdin record, stored first, has the content of line 1 of the
// file uploaded after it.
func TestLinesOfUploadsWithStdin(t *testing.T) {
	t.Parallel()
	for _, errorsOnly := range []bool{false, true} {
		srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: apitest.NoLimit, FailRecords: "@fail.example"})
		t.Cleanup(srv.Close)
		dir, state := t.TempDir(), t.TempDir()
		same := `{"email_address":"same@fail.example","upsert_key":"email_address"}` + "\n"
		file := filepath.Join(t.TempDir(), "a.jsonl")
		os.WriteFile(file, []byte(same+`{"email_address":"a2@fail.example","upsert_key":"email_address"}`+"\n"), 0o600)
		l := loader(t, srv, state, dir)
		job, err := l.Create(context.Background(), "person/upsert", "stdin and a file")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Upload(context.Background(), job.ID, load.Input{Reader: strings.NewReader(same), Format: "jsonl"}, load.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Upload(context.Background(), job.ID, load.Input{Path: file}, load.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Ready(context.Background(), job.ID); err != nil {
			t.Fatal(err)
		}
		rl := loader(t, srv, state, dir)
		if errorsOnly {
			rl = errLoader(t, srv, state, dir)
		}
		rep, err := rl.Results(context.Background(), job.ID, load.ResultsOptions{Wait: time.Minute})
		if err != nil || rep.Failed != 3 {
			t.Fatalf("errors-only %v: %+v, %v; want 3 failures", errorsOnly, rep, err)
		}
		for _, r := range readRows(t, rep.Files.Errors) {
			if r.Line != nil {
				t.Errorf("errors-only %v: row of %s names line %d of %s; want none: the job holds records no index has", errorsOnly, email(t, r.Record), *r.Line, r.File)
			}
		}
	}
}

// A retry's result rows name the file and line each record came from in
// the first job's input, not lines of the retry file in the state
// directory, which the person reading them has never seen; a record on
// two lines of the input names none. Read again in errors-only mode, the
// retry job's rows name the same.
func TestRetryNamesOriginalLines(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: apitest.NoLimit, FailRecords: "@fail.example"})
	t.Cleanup(srv.Close)
	dir, state := t.TempDir(), t.TempDir()
	person := func(email string) string {
		return `{"email_address":"` + email + `","upsert_key":"email_address"}` + "\n"
	}
	want := map[string]int{} // failing email -> its line; 0: on two lines
	var b strings.Builder
	for i := 1; i <= 400; i++ {
		e := "p" + strconv.Itoa(i) + "@example.com"
		switch {
		case i == 10 || i == 390:
			e, want["twice@fail.example"] = "twice@fail.example", 0
		case i%37 == 0:
			e = "p" + strconv.Itoa(i) + "@fail.example"
			want[e] = i
		}
		b.WriteString(person(e))
	}
	input := filepath.Join(t.TempDir(), "people.jsonl")
	os.WriteFile(input, []byte(b.String()), 0o600)
	l := loader(t, srv, state, dir)
	first, err := l.Run(context.Background(), load.Input{Path: input, BatchSize: 100}, load.RunOptions{Type: "person/upsert"})
	if err != nil || first.Failed != int64(len(want))+1 {
		t.Fatalf("run: %+v, %v; want %d failures", first, err, len(want)+1)
	}
	check := func(what, errorsFile string) {
		t.Helper()
		rows := readRows(t, errorsFile)
		if len(rows) != len(want)+1 {
			t.Errorf("%s: %d error rows; want %d", what, len(rows), len(want)+1)
		}
		for _, r := range rows {
			e := email(t, r.Record)
			got := 0
			if r.Line != nil {
				got = *r.Line
				if r.File != input {
					t.Errorf("%s: row of %s names file %q; want %q", what, e, r.File, input)
				}
			}
			if w, ok := want[e]; !ok || got != w {
				t.Errorf("%s: row of %s names line %d; want %d", what, e, got, w)
			}
		}
	}
	retry, err := loader(t, srv, state, dir).Retry(context.Background(), first.JobID, load.Input{}, load.RunOptions{})
	if err != nil || retry.Failed != first.Failed {
		t.Fatalf("retry: %+v, %v; want its %d records to fail again", retry, err, first.Failed)
	}
	check("retry", retry.Files.Errors)
	if retry.Lines.Tied != int64(len(want))-1 || retry.Lines.Unknown != 2 {
		t.Errorf("retry Lines = %+v; want %d tied, 2 unknown", retry.Lines, len(want)-1)
	}
	again, err := errLoader(t, srv, state, t.TempDir()).Results(context.Background(), retry.JobID, load.ResultsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("errors-only results of the retry job", again.Files.Errors)

	// Config without ResultsDir: the retry's results go beside the first
	// job's.
	c, _ := api.NewClient(api.Config{APIKey: testKey, BaseURL: srv.URL})
	plain, _ := load.New(load.Config{Client: c, StateDir: state})
	beside, err := plain.Retry(context.Background(), first.JobID, load.Input{}, load.RunOptions{})
	if err != nil || filepath.Dir(beside.Files.Errors) != dir {
		t.Errorf("retry with no ResultsDir: errors in %q, %v; want them in %s, beside the first job's", beside.Files.Errors, err, dir)
	}

	// A machine without the first job's saved state cannot know where the
	// records came from: the rows name no line, not the retry file's.
	elsewhere, err := loader(t, srv, t.TempDir(), t.TempDir()).Retry(context.Background(), first.JobID, load.Input{}, load.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readRows(t, elsewhere.Files.Errors) {
		if r.Line != nil {
			t.Errorf("retry without the first job's state: row of %s names line %d of %q; want none", email(t, r.Record), *r.Line, r.File)
		}
	}
}

// stopAfterRows returns a context that is cancelled once l's results read
// has handed over more than n rows, or when the test ends.
func stopAfterRows(t *testing.T, l *load.Loader, n int64) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			if s := l.Stats(); s.Phase == load.PhaseResults && s.Poll.Delivered > n {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return ctx
}

// A retry's results read interrupted and continued counts the lines of
// the whole read, those whose origin is not certain included, and every
// row of both reads names the line its record came from.
func TestRetryLinesContinued(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(apitest.Config{APIKeys: []string{testKey}, ProcessRate: apitest.NoLimit, FailRecords: "@fail.example"})
	t.Cleanup(srv.Close)
	dir, state := t.TempDir(), t.TempDir()
	var b strings.Builder
	want := map[string]int{}
	twice := 0
	for i := 1; i <= 3000; i++ {
		e := "p" + strconv.Itoa(i) + "@example.com"
		switch {
		case i%100 == 1: // the same failing record on two lines: no certain origin
			e = "twice" + strconv.Itoa(i/200) + "@fail.example"
			want[e] = 0
			twice++
		case i%3 == 0:
			e = "p" + strconv.Itoa(i) + "@fail.example"
			want[e] = i
		}
		b.WriteString(`{"email_address":"` + e + `","upsert_key":"email_address"}` + "\n")
	}
	input := filepath.Join(t.TempDir(), "people.jsonl")
	os.WriteFile(input, []byte(b.String()), 0o600)
	first, err := loader(t, srv, state, dir).Run(context.Background(), load.Input{Path: input}, load.RunOptions{Type: "person/upsert"})
	if err != nil {
		t.Fatal(err)
	}
	failed := first.Failed
	l := loader(t, srv, state, dir)
	retry, err := l.Retry(stopAfterRows(t, l, 300), first.JobID, load.Input{}, load.RunOptions{})
	if !errors.Is(err, context.Canceled) || retry.JobID == 0 || retry.Written == 0 || retry.Written >= failed {
		t.Fatalf("retry: %+v, %v; want it stopped while reading its results", retry, err)
	}
	rep, err := loader(t, srv, state, dir).Resume(context.Background(), retry.JobID, load.ResumeOptions{})
	if err != nil || rep.Failed != failed {
		t.Fatalf("resume of the retry: %+v, %v; want its %d records failed", rep, err, failed)
	}
	if rep.Lines.Tied != failed-int64(twice) || rep.Lines.Unknown != int64(twice) {
		t.Errorf("Lines = %+v; want %d tied and %d unknown over the whole read", rep.Lines, failed-int64(twice), twice)
	}
	rows := readRows(t, rep.Files.Errors)
	if int64(len(rows)) != failed {
		t.Errorf("%d error rows; want %d", len(rows), failed)
	}
	for _, r := range rows {
		e, got := email(t, r.Record), 0
		if r.Line != nil {
			got = *r.Line
		}
		if w, ok := want[e]; !ok || got != w {
			t.Errorf("row of %s names line %d; want %d", e, got, w)
		}
	}
}
