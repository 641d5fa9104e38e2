package load

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/join"
)

// fixedLiner ties every row to line n of the retry file.
type fixedLiner struct{ n int }

func (f fixedLiner) Line(api.Result) (int, string) { return f.n, "" }
func (fixedLiner) Stats() join.ResolverStats       { return join.ResolverStats{} }
func (fixedLiner) State() []byte                   { return nil }

// An origins file maps a retry file's lines to the first input's; one cut
// short or damaged is refused, naming the file and line, so that no row
// names a line it should not.
func TestReadOrigins(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, data string
		line       int    // the retry file's line to map
		want       int    // the line it maps to
		wantFile   string // and its file
		err        string // or the error
	}{
		{"mapped", "0 12\n-1 0\n1 5\n#files [\"a.csv\",\"b.csv\"]\n", 3, 5, "b.csv", ""},
		{"unknown origin", "0 12\n-1 0\n#files [\"a.csv\"]\n", 2, 0, "", ""},
		{"past the end", "0 12\n#files [\"a.csv\"]\n", 2, 0, "", ""},
		{"cut short", "0 12\n1 5\n", 1, 0, "", "no #files line"},
		{"damaged line", "0 12\nx\n#files [\"a.csv\"]\n", 1, 0, "", `:2: "x" is not`},
		{"file out of range", "3 12\n#files [\"a.csv\"]\n", 1, 0, "", "names file 4 of 1"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".origins")
		os.WriteFile(path, []byte(tt.data), 0o600)
		r, err := readOrigins(path, fixedLiner{tt.line})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: error %v; want one naming %s and %q", tt.name, err, path, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if line, file := r.Line(api.Result{}); line != tt.want || file != tt.wantFile {
			t.Errorf("%s: line %d of the retry file maps to %d %q; want %d %q", tt.name, tt.line, line, file, tt.want, tt.wantFile)
		}
	}
}
