package poller

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bulkload/bulkload/api"
)

func sampleRows(n int) []api.Result {
	rows := make([]api.Result, n)
	for i := range rows {
		rows[i] = api.Result{ID: int64(100 + i), Status: api.StatusSuccess,
			Record:   json.RawMessage(`{"email_address": "p` + itoa(i) + `@example.com", "tags": ["a,b", "c\"d"]}`),
			Resource: json.RawMessage(`{"person": {"id": ` + itoa(9000+i) + `}, "upsert_type": "create"}`)}
		if i%3 == 1 {
			msg := "Missing required field: email address, \"quoted\"\nand a new line"
			rows[i].Status, rows[i].Error, rows[i].Resource = api.StatusError, &msg, nil
		}
	}
	return rows
}

func itoa(i int) string { return strconv.Itoa(i) }

// readJSONL decodes every line of path.
func readJSONL(t *testing.T, path string) []jsonRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []jsonRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r jsonRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	return rows
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return recs
}

func writeAll(t *testing.T, f *Files, rows []api.Result) {
	t.Helper()
	for _, r := range rows {
		if err := f.Write(r); err != nil {
			t.Fatalf("Write(%d) = %v", r.ID, err)
		}
	}
}

func TestFiles(t *testing.T) {
	rows := sampleRows(10)
	calls := 0
	line := func(r api.Result) (int, string) {
		calls++
		if r.ID%4 == 0 {
			return 0, "" // not tied
		}
		return int(r.ID-100)*2 + 2, ""
	}
	wantLine := func(id int64) int {
		if id%4 == 0 {
			return 0
		}
		return int(id-100)*2 + 2
	}
	for _, format := range []Format{JSONLines, CSV} {
		t.Run(format.String(), func(t *testing.T) {
			dir := t.TempDir()
			calls = 0
			cfg := FilesConfig{Format: format, Success: filepath.Join(dir, "ok"), Errors: filepath.Join(dir, "err"), Line: line}
			f, err := CreateFiles(cfg)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, f, rows)
			writeAll(t, f, []api.Result{{ID: 999, Status: api.StatusPending}}) // dropped
			if err := f.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
			if calls != len(rows)+1 {
				t.Errorf("Line was called %d times; want %d, once per row, dropped rows too", calls, len(rows)+1)
			}
			for _, path := range []string{cfg.Success, cfg.Errors} {
				info, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if perm := info.Mode().Perm(); perm != 0o600 {
					t.Errorf("%s mode = %v; want 0600", path, perm)
				}
			}
			var ok, bad []api.Result
			for _, r := range rows {
				if r.Status == api.StatusSuccess {
					ok = append(ok, r)
				} else {
					bad = append(bad, r)
				}
			}
			check := func(path string, want []api.Result) {
				t.Helper()
				switch format {
				case JSONLines:
					got := readJSONL(t, path)
					if len(got) != len(want) {
						t.Fatalf("%s has %d rows; want %d", path, len(got), len(want))
					}
					for i, g := range got {
						w := want[i]
						ut := UpsertType(w.Resource)
						if g.ID != w.ID || g.Status != w.Status || !jsonEqual(g.Record, w.Record) ||
							!jsonEqual(g.ResourceID, ResourceID(w.Resource)) || (g.Error == nil) != (w.Error == nil) ||
							g.Error != nil && *g.Error != *w.Error || (g.UpsertType == nil) != (ut == "") ||
							g.UpsertType != nil && *g.UpsertType != ut || (g.Line == nil) != (wantLine(w.ID) == 0) ||
							g.Line != nil && *g.Line != wantLine(w.ID) || g.File != "" {
							t.Errorf("%s row %d = %+v; want %+v", path, i, g, w)
						}
					}
				case CSV:
					got := readCSV(t, path)
					if len(got) != len(want)+1 || strings.Join(got[0], ",") != "_line,_id,_status,_error,_resource_id,_upsert_type,email_address,tags" {
						t.Fatalf("%s = %q; want a header and %d rows", path, got, len(want))
					}
					for i, g := range got[1:] {
						w := want[i]
						var errText, rid, ut, line string
						if w.Error != nil {
							errText = *w.Error
						}
						if w.Status == api.StatusSuccess {
							rid, ut = itoa(9000+int(w.ID-100)), "create"
						}
						if l := wantLine(w.ID); l > 0 {
							line = itoa(l)
						}
						wantRow := []string{line, itoa(int(w.ID)), string(w.Status), errText, rid, ut,
							"p" + itoa(int(w.ID-100)) + "@example.com", `["a,b","c\"d"]`}
						if !slices.Equal(g, wantRow) {
							t.Errorf("%s row %d = %q; want %q", path, i, g, wantRow)
						}
					}
				}
			}
			check(cfg.Success, ok)
			check(cfg.Errors, bad)
		})
	}
}

// TestFilesCSVColumns: the record's columns in CSV results, configured or
// first seen, nested objects flattened, fields without a column counted.
func TestFilesCSVColumns(t *testing.T) {
	tests := []struct {
		name     string
		columns  []string
		withFile bool
		records  []string
		want     []string // the file's lines
		omitted  int64
	}{
		{
			name:    "first seen, nested",
			records: []string{`{"email_address":"a@b.c","custom_fields":{"source":"fair","tier":{"n":2}},"tags":["x"],"ok":true,"n":1.50,"z":null}`, `{"email_address":"d@e.f"}`},
			want: []string{
				"_line,_id,_status,_error,_resource_id,_upsert_type,email_address,custom_fields.source,custom_fields.tier.n,tags,ok,n,z",
				`2,1,success,,,,a@b.c,fair,2,"[""x""]",true,1.50,`,
				"3,2,success,,,,d@e.f,,,,,,",
			},
		},
		{
			name:    "configured order, a field without a column",
			columns: []string{"first_name", "email_address"},
			records: []string{`{"email_address":"a@b.c","first_name":"Ann","city":"Lyon"}`, `{"first_name":"Bo"}`},
			want: []string{
				"_line,_id,_status,_error,_resource_id,_upsert_type,first_name,email_address",
				"2,1,success,,,,Ann,a@b.c",
				"3,2,success,,,,Bo,",
			},
			omitted: 1,
		},
		{
			name:     "with the file",
			columns:  []string{"email_address"},
			withFile: true,
			records:  []string{`{"email_address":"a@b.c"}`},
			want: []string{
				"_line,_file,_id,_status,_error,_resource_id,_upsert_type,email_address",
				"2,in.csv,1,success,,,,a@b.c",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ok.csv")
			f, err := CreateFiles(FilesConfig{Format: CSV, Success: path, Columns: tt.columns, WithFile: tt.withFile,
				Line: func(r api.Result) (int, string) { return int(r.ID) + 1, "in.csv" }})
			if err != nil {
				t.Fatal(err)
			}
			for i, rec := range tt.records {
				if err := f.Write(api.Result{ID: int64(i + 1), Status: api.StatusSuccess, Record: json.RawMessage(rec)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			if got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("file =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if got := f.Omitted(); got != tt.omitted {
				t.Errorf("Omitted() = %d; want %d", got, tt.omitted)
			}
		})
	}
}

func TestUpsertType(t *testing.T) {
	tests := []struct{ resource, want string }{
		{`{"person": {"id": 1}, "upsert_type": "create"}`, "create"},
		{`{"person": {"id": 1}, "upsert_type": "update"}`, "update"},
		{`{"id": 1}`, ""},
		{`{"upsert_type": 3}`, ""},
		{`null`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got := UpsertType(json.RawMessage(tt.resource)); got != tt.want {
			t.Errorf("UpsertType(%s) = %q; want %q", tt.resource, got, tt.want)
		}
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y bytes.Buffer
	if len(a) == 0 || len(b) == 0 {
		return len(bytes.TrimSpace(a)) == len(bytes.TrimSpace(b)) || string(a) == "null" || string(b) == "null"
	}
	return json.Compact(&x, a) == nil && json.Compact(&y, b) == nil && x.String() == y.String()
}

// TestFilesResume writes rows past a saved offset (a crash after the flush
// but before the cursor was saved), resumes from the offset and rewrites
// them: each row is in the file once.
func TestFilesResume(t *testing.T) {
	rows := sampleRows(30)
	for _, format := range []Format{JSONLines, CSV} {
		t.Run(format.String(), func(t *testing.T) {
			dir := t.TempDir()
			line := func(r api.Result) (int, string) { return int(r.ID) - 98, "" }
			cfg := FilesConfig{Format: format, Success: filepath.Join(dir, "ok"), Errors: filepath.Join(dir, "err"), Line: line}
			f, err := CreateFiles(cfg)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, f, rows[:12])
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			saved := f.Offsets()
			writeAll(t, f, rows[12:20]) // lost with the crash: the cursor was not saved
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}

			cfg.Resume = &saved
			f, err = CreateFiles(cfg)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, f, rows[12:])
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}

			fresh := FilesConfig{Format: format, Success: filepath.Join(dir, "ok2"), Errors: filepath.Join(dir, "err2"), Line: line}
			f, _ = CreateFiles(fresh)
			writeAll(t, f, rows)
			_ = f.Close()
			for _, pair := range [][2]string{{cfg.Success, fresh.Success}, {cfg.Errors, fresh.Errors}} {
				got, _ := os.ReadFile(pair[0])
				want, _ := os.ReadFile(pair[1])
				if !bytes.Equal(got, want) {
					t.Errorf("%s after resuming =\n%s\nwant\n%s", pair[0], got, want)
				}
			}

			if format == CSV {
				got, _ := os.ReadFile(cfg.Success)
				if n := strings.Count(string(got), "_line,_id"); n != 1 {
					t.Errorf("%s holds the header %d times; want once", cfg.Success, n)
				}
				// Resuming with WithFile, the header does not fit: an error.
				st, _ := os.Stat(cfg.Success)
				mismatch := cfg
				mismatch.WithFile = true
				mismatch.Resume = &Offsets{Success: st.Size()}
				if _, err := CreateFiles(mismatch); err == nil {
					t.Errorf("CreateFiles(resume with another header) = nil error; want one")
				}
			}

			short := Offsets{Success: 1 << 20}
			cfg.Resume = &short
			if _, err := CreateFiles(cfg); err == nil || !strings.Contains(err.Error(), cfg.Success) {
				t.Errorf("CreateFiles(offset past the end) = %v; want an error naming %s", err, cfg.Success)
			}
		})
	}
}

func TestFilesDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	f, err := CreateFiles(FilesConfig{Format: CSV, Errors: "/dev/full"})
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for _, r := range sampleRows(3000) { // more than the buffer holds
		if werr = f.Write(r); werr != nil {
			break
		}
	}
	if werr == nil {
		werr = f.Flush()
	}
	if !errors.Is(werr, syscall.ENOSPC) || !strings.Contains(werr.Error(), "/dev/full") {
		t.Errorf("writing to a full disk = %v; want ENOSPC naming /dev/full", werr)
	}
	if err := f.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close() after a full disk = %v; want the same error", err)
	}
}

func TestCreateFilesErrors(t *testing.T) {
	dir := t.TempDir()
	bad := map[string]FilesConfig{
		"unknown format": {Format: Format(9), Success: filepath.Join(dir, "a")},
		"same file":      {Success: filepath.Join(dir, "a"), Errors: filepath.Join(dir, "a")},
		"no directory":   {Errors: filepath.Join(dir, "missing", "err")},
	}
	for name, cfg := range bad {
		if _, err := CreateFiles(cfg); err == nil {
			t.Errorf("CreateFiles(%s) = nil error; want one", name)
		}
	}
}

func TestResourceID(t *testing.T) {
	tests := []struct{ resource, want string }{
		{`{"person": {"id": 9001, "email_address": "a@b.c"}, "upsert_type": "create"}`, `9001`},
		{`{"event": {"id": "evt-7", "i_cal_uid": "x"}, "upsert_type": "update"}`, `"evt-7"`},
		{`{"id": 12}`, `12`},
		{`{"a": {"x": 1}, "b": {"id": 2}}`, `2`},
		{`{"upsert_type": "create"}`, ``},
		{`{"person": {"id": null}}`, ``},
		{`{"person": {"id": ""}}`, ``},
		{`null`, ``},
		{``, ``},
		{`[1, 2]`, ``},
	}
	for _, tt := range tests {
		if got := ResourceID(json.RawMessage(tt.resource)); string(got) != tt.want {
			t.Errorf("ResourceID(%s) = %s; want %s", tt.resource, got, tt.want)
		}
	}
}

func FuzzResourceID(f *testing.F) {
	f.Add(`{"person": {"id": 9001}, "upsert_type": "create"}`)
	f.Add(`{"id": "x"}`)
	f.Fuzz(func(t *testing.T, s string) {
		if id := ResourceID(json.RawMessage(s)); id != nil && !json.Valid(id) {
			t.Errorf("ResourceID(%q) = %q, not JSON", s, id)
		}
	})
}

// FuzzCSVRoundtrip checks that a row written as CSV reads back the same.
func FuzzCSVRoundtrip(f *testing.F) {
	f.Add(int64(1), "Missing required field: email address", `{"a": "b,c\n\"d\""}`)
	f.Fuzz(func(t *testing.T, id int64, errText, record string) {
		if !json.Valid([]byte(record)) {
			return
		}
		var b bytes.Buffer
		enc, _ := newEncoder(encoderConfig{format: CSV, columns: []string{"a"}}, &b)
		r := api.Result{ID: id, Status: api.StatusError, Error: &errText, Record: json.RawMessage(record)}
		if err := enc.row(Row{Result: r, Line: 7}); err != nil {
			if !strings.HasPrefix(strings.TrimSpace(record), "{") {
				return // not an object: an error, rightly
			}
			t.Fatal(err)
		}
		if err := enc.flush(); err != nil {
			t.Fatal(err)
		}
		rd := csv.NewReader(&b)
		rd.FieldsPerRecord = -1
		got, err := rd.Read() // the header
		if err == nil {
			got, err = rd.Read()
		}
		if err != nil {
			t.Fatalf("reading back %q: %v", b.String(), err)
		}
		// csv normalises \r\n inside quoted fields to \n.
		wantErr := strings.ReplaceAll(errText, "\r\n", "\n")
		flat, _ := flatten(nil, json.RawMessage(record))
		wantA := ""
		for _, f := range flat {
			if f.name == "a" {
				wantA = strings.ReplaceAll(f.value, "\r\n", "\n")
			}
		}
		if len(got) != 7 || got[0] != "7" || got[1] != strconv.FormatInt(id, 10) || got[2] != "error" || got[3] != wantErr || got[6] != wantA {
			t.Errorf("row %+v read back as %q", r, got)
		}
	})
}

// A kind of row that never comes leaves no file: a job with no errors has
// no empty errors file.
func TestFilesCreatedByFirstRow(t *testing.T) {
	dir := t.TempDir()
	ok, bad := filepath.Join(dir, "ok.jsonl"), filepath.Join(dir, "bad.jsonl")
	f, err := CreateFiles(FilesConfig{Success: ok, Errors: bad})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write(api.Result{ID: 1, Status: api.StatusSuccess}); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(ok); err != nil || st.Size() == 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("success file: %v, %v; want one row, mode 0600", st, err)
	}
	if _, err := os.Stat(bad); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors file with no error rows: %v; want none created", err)
	}
	if off := f.Offsets(); off.Errors != 0 || off.Success == 0 {
		t.Errorf("offsets %+v; want the success file's size and 0", off)
	}
}
