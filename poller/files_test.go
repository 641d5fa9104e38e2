package poller

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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
	for _, format := range []Format{JSONLines, CSV} {
		t.Run(format.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := FilesConfig{Format: format, Success: filepath.Join(dir, "ok"), Errors: filepath.Join(dir, "err")}
			f, err := CreateFiles(cfg)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, f, rows)
			writeAll(t, f, []api.Result{{ID: 999, Status: api.StatusPending}}) // dropped
			if err := f.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
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
						if g.ID != w.ID || g.Status != w.Status || !jsonEqual(g.Record, w.Record) ||
							!jsonEqual(g.ResourceID, ResourceID(w.Resource)) || (g.Error == nil) != (w.Error == nil) ||
							g.Error != nil && *g.Error != *w.Error {
							t.Errorf("%s row %d = %+v; want %+v", path, i, g, w)
						}
					}
				case CSV:
					got := readCSV(t, path)
					if len(got) != len(want)+1 || strings.Join(got[0], ",") != "id,status,error,resource_id,record" {
						t.Fatalf("%s = %q; want a header and %d rows", path, got, len(want))
					}
					for i, g := range got[1:] {
						w := want[i]
						var errText string
						if w.Error != nil {
							errText = *w.Error
						}
						rid := ""
						if w.Status == api.StatusSuccess {
							rid = itoa(9000 + int(w.ID-100))
						}
						if g[0] != itoa(int(w.ID)) || g[1] != string(w.Status) || g[2] != errText || g[3] != rid ||
							!jsonEqual(json.RawMessage(g[4]), w.Record) {
							t.Errorf("%s row %d = %q; want %+v", path, i, g, w)
						}
					}
				}
			}
			check(cfg.Success, ok)
			check(cfg.Errors, bad)
		})
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
			cfg := FilesConfig{Format: format, Success: filepath.Join(dir, "ok"), Errors: filepath.Join(dir, "err")}
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

			fresh := FilesConfig{Format: format, Success: filepath.Join(dir, "ok2"), Errors: filepath.Join(dir, "err2")}
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
		enc, _ := newEncoder(CSV, &b)
		r := api.Result{ID: id, Status: api.StatusError, Error: &errText, Record: json.RawMessage(record)}
		if err := enc.row(r); err != nil {
			t.Fatal(err)
		}
		if err := enc.flush(); err != nil {
			t.Fatal(err)
		}
		got, err := csv.NewReader(&b).Read()
		if err != nil {
			t.Fatalf("reading back %q: %v", b.String(), err)
		}
		// csv normalises \r\n inside quoted fields to \n.
		wantErr := strings.ReplaceAll(errText, "\r\n", "\n")
		if got[0] != strconv.FormatInt(id, 10) || got[1] != "error" || got[2] != wantErr ||
			!jsonEqual(json.RawMessage(got[4]), json.RawMessage(record)) {
			t.Errorf("row %+v read back as %q", r, got)
		}
	})
}
