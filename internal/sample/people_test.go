package sample

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestWriteJSONL(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteJSONL(&a, 1000, Options{Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(&b, 1000, Options{Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed gave different output")
	}
	lines := bytes.Split(bytes.TrimSuffix(a.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 1000 {
		t.Fatalf("got %d lines; want 1000", len(lines))
	}
	for i, l := range lines {
		var p Person
		if err := json.Unmarshal(l, &p); err != nil || p.EmailAddress == "" {
			t.Fatalf("line %d = %s: %v", i+1, l, err)
		}
	}
	if avg := a.Len() / 1000; avg < 240 || avg > 320 {
		t.Errorf("records average %d bytes; want about 270", avg)
	}
}

func TestInvalidEvery(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSONL(&b, 30, Options{InvalidEvery: 10}); err != nil {
		t.Fatal(err)
	}
	for i, l := range bytes.Split(bytes.TrimSuffix(b.Bytes(), []byte("\n")), []byte("\n")) {
		good := json.Valid(l) && utf8.Valid(l) && l[0] == '{'
		if want := (i+1)%10 != 0; good != want {
			t.Errorf("line %d valid = %v; want %v: %s", i+1, good, want, l)
		}
	}

	b.Reset()
	if err := WriteCSV(&b, 20, Options{InvalidEvery: 10}); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(&b)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		if want := len(CSVHeader) - map[bool]int{true: 1}[i > 0 && i%10 == 0]; len(row) != want {
			t.Errorf("row %d has %d cells; want %d", i+1, len(row), want)
		}
	}
}
