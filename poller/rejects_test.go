package poller

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRejectsFile(t *testing.T) {
	tests := []struct {
		name     string
		columns  []string
		withFile bool
		rejects  []Reject
		want     []string
		omitted  int64
	}{
		{
			name:    "configured columns",
			columns: []string{"email_address", "first_name", "custom_fields.source"},
			rejects: []Reject{
				{Line: 4, Error: "Missing required field: email address", Record: json.RawMessage(`{"first_name":"Ann","custom_fields":{"source":"fair"}}`)},
				{Line: 9, Error: "wrong number of fields", Fields: []string{"a@b.c", "Bo", "web", "extra"}},
				{Error: "no line", Record: json.RawMessage(`{"first_name":"Cy","city":"Oslo"}`)},
			},
			want: []string{
				"_line,_error,email_address,first_name,custom_fields.source",
				"4,Missing required field: email address,,Ann,fair",
				"9,wrong number of fields,a@b.c,Bo,web,extra",
				",no line,,Cy,",
			},
			omitted: 1,
		},
		{
			name:     "first seen, with the file",
			withFile: true,
			rejects:  []Reject{{Line: 2, File: "b.jsonl", Error: `bad "x"`, Record: json.RawMessage(`{"x":[1, 2],"y":null}`)}},
			want:     []string{"_line,_file,_error,x,y", `2,b.jsonl,"bad ""x""","[1,2]",`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rejects.csv")
			rf, err := CreateRejects(RejectsConfig{Path: path, Columns: tt.columns, WithFile: tt.withFile})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.rejects {
				if err := rf.Write(r); err != nil {
					t.Fatalf("Write(%+v) = %v", r, err)
				}
			}
			if err := rf.Close(); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			if got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("file =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if got := rf.Omitted(); got != tt.omitted {
				t.Errorf("Omitted() = %d; want %d", got, tt.omitted)
			}
			if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v; want 0600", info.Mode().Perm())
			}
		})
	}
	if _, err := CreateRejects(RejectsConfig{}); err == nil {
		t.Error("CreateRejects(no path) = nil error; want one")
	}
	rf, _ := CreateRejects(RejectsConfig{Path: filepath.Join(t.TempDir(), "r.csv")})
	if err := rf.Write(Reject{Line: 1, Record: json.RawMessage(`[1]`)}); err == nil || !strings.Contains(err.Error(), "r.csv") {
		t.Errorf("Write(a record that is not an object) = %v; want an error naming the file", err)
	}
	rf.Close()
}

// Write the records refused before upload so that, fixed, they load again.
func ExampleRejectsFile() {
	dir, _ := os.MkdirTemp("", "rejects")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rejects.csv")
	rf, err := CreateRejects(RejectsConfig{Path: path, Columns: []string{"email_address", "first_name"}})
	if err != nil {
		panic(err)
	}
	rf.Write(Reject{Line: 3, Error: "none of id, crm_id, email_address", Record: json.RawMessage(`{"first_name":"Ann"}`)})
	rf.Write(Reject{Line: 7, Error: "wrong number of fields", Fields: []string{"bo@x.io", "Bo", "extra"}})
	if err := rf.Close(); err != nil {
		panic(err)
	}
	data, _ := os.ReadFile(path)
	fmt.Print(string(data))
	// Output:
	// _line,_error,email_address,first_name
	// 3,"none of id, crm_id, email_address",,Ann
	// 7,wrong number of fields,bo@x.io,Bo,extra
}
