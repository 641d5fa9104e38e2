package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The command is a shell over package load: it parses flags, renders and
// maps errors to exit codes, but never drives an upload, a results read or
// the saved state itself. Importing one of these packages would mean
// lifecycle logic that ETL code embedding load could not reach.
func TestShellLeavesTheLifecycleToLoad(t *testing.T) {
	lifecycle := []string{"uploader", "poller", "manifest", "join"}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, pkg := range lifecycle {
				if path == "github.com/bulkload/bulkload/"+pkg {
					t.Errorf("%s imports %s: the lifecycle belongs to package load", f, path)
				}
			}
		}
	}
}
