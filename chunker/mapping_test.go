package chunker

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// mustMap parses ParseMap entries, and ParseSet entries given as "set:field=value".
func mustMap(tb testing.TB, specs ...string) []MapEntry {
	tb.Helper()
	var out []MapEntry
	for _, s := range specs {
		var e MapEntry
		var err error
		if rest, ok := strings.CutPrefix(s, "set:"); ok {
			e, err = ParseSet(rest)
		} else {
			e, err = ParseMap(s)
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestMapping(t *testing.T) {
	tests := []mapCase{
		{
			name:    "rename, nest and drop",
			in:      "Email Address,Source,Notes,custom_fields.x\na@x.com,web,hello,1\n",
			maps:    []string{"Email Address=email_address", "Source=custom_fields.source", "Notes="},
			batches: []string{`[{"email_address":"a@x.com","custom_fields":{"source":"web","x":"1"}}]`},
		},
		{
			name:     "columns match ignoring case and spaces, with a warning",
			in:       " EMAIL address ,Name\na@x.com,Ann\n",
			maps:     []string{"Email Address=email_address"},
			batches:  []string{`[{"email_address":"a@x.com","Name":"Ann"}]`},
			warnings: []string{`input:1: column " EMAIL address " matched map entry "Email Address" ignoring case and spaces`},
		},
		{
			name:    "exact match wins over a loose one",
			in:      "email,EMAIL\na,b\n",
			maps:    []string{"EMAIL=email_address", "email="},
			batches: []string{`[{"email_address":"b"}]`},
		},
		{
			name: "unknown column", in: "a,b\n1,2\n", maps: []string{"Email=email_address"}, is: ErrMapping,
			err: `input:1:1: invalid mapping: map "Email=email_address": the header has no column "Email" (it has "a", "b")`,
		},
		{
			name: "column mapped twice", in: "a,b\n1,2\n", maps: []string{"a=x", "A=y"}, is: ErrMapping,
			err: `input:1:1: invalid mapping: column 1 "a" is mapped twice`,
		},
		{
			name: "two columns to one field", in: "a,b\n1,2\n", maps: []string{"b=a"}, is: ErrHeader,
			err: `input:1:3: invalid CSV header: column 2 "b" gives field "a", as column 1 "a" does`,
		},
		{
			name: "a value and an object", in: "a,b\n1,2\n", maps: []string{"b=a.c"}, is: ErrHeader,
			err: `input:1:3: invalid CSV header: column 2 "b": is both a value and an object`,
		},
		{
			name: "constants", in: "email_address\na@x.com\nb@x.com\n", maps: []string{"set:custom_fields.source=import 2026", `"fr"=locale`},
			batches: []string{`[{"email_address":"a@x.com","custom_fields":{"source":"import 2026"},"locale":"fr"},{"email_address":"b@x.com","custom_fields":{"source":"import 2026"},"locale":"fr"}]`},
		},
		{
			name: "a constant and a column for one field", in: "locale\nde\n", maps: []string{"set:locale=fr"}, is: ErrMapping,
			err: `input:1:1: invalid mapping: set locale: column 1 "locale" gives that field too (drop it with --map "locale=")`,
		},
		{
			name: "a constant set twice", in: "a\n1\n", maps: []string{"set:b=1", `"2"=b`}, is: ErrMapping,
			err: `input:1:1: invalid mapping: set b: set twice`,
		},
		{
			name: "UpsertKey without a column", in: "email_address\na@x.com\n", cfg: Config{UpsertKey: "email_address"},
			batches: []string{`[{"email_address":"a@x.com","upsert_key":"email_address"}]`},
		},
		{
			name: "UpsertKey fills empty cells only", in: "upsert_key,email_address,crm_id\n,a@x.com,\ncrm_id,b@x.com,003\n", cfg: Config{UpsertKey: "email_address"},
			batches: []string{`[{"upsert_key":"email_address","email_address":"a@x.com"},{"upsert_key":"crm_id","email_address":"b@x.com","crm_id":"003"}]`},
		},
		{
			name:    "a results CSV loads again",
			in:      "_line,_id,_status,_error,_resource_id,_upsert_type,email_address,custom_fields.source\n2,7,failed,invalid email,,,a@x.com,web\n",
			batches: []string{`[{"email_address":"a@x.com","custom_fields":{"source":"web"}}]`},
		},
		{
			name: "a rejects CSV loads again", in: "_line,_error,email_address\n4,wrong number of fields,a@x.com\n",
			batches: []string{`[{"email_address":"a@x.com"}]`},
		},
		{
			name: "_ columns elsewhere are kept", in: "email_address,_id\na@x.com,7\n",
			batches: []string{`[{"email_address":"a@x.com","_id":"7"}]`},
		},
		{
			name: "mapping is for CSV", in: "{}\n", cfg: Config{Format: FormatJSONL}, maps: []string{"a=b"}, is: ErrMapping,
			err: "chunker: input: invalid mapping: Map applies to CSV and TSV input, not jsonl",
		},
	}
	for _, tt := range tests {
		if tt.cfg.Format == FormatAuto {
			tt.cfg.Format = FormatCSV
		}
		t.Run(tt.name, func(t *testing.T) { tt.run(t) })
	}
}

func TestParseMap(t *testing.T) {
	tests := []struct {
		in   string
		want MapEntry
		err  string
	}{
		{in: "Email Address=email_address", want: MapEntry{Column: "Email Address", Field: "email_address"}},
		{in: " Source = custom_fields.source ", want: MapEntry{Column: "Source", Field: "custom_fields.source"}},
		{in: "Notes=", want: MapEntry{Column: "Notes"}},
		{in: `"web"=custom_fields.source`, want: MapEntry{Field: "custom_fields.source", Value: "web"}},
		{in: "a=b=c", want: MapEntry{Column: "a", Field: "b=c"}},
		{in: "nothing", err: `invalid mapping: "nothing" has no '=' (want "Column=field", "Column=" to drop it, or '"value"=field')`},
		{in: "=field", err: `invalid mapping: "=field" names no column`},
		{in: `"v"=`, err: `invalid mapping: "\"v\"=" sets a constant but names no field`},
		{in: "a=b..c", err: `invalid mapping: "a=b..c": field "b..c" has an empty name`},
	}
	for _, tt := range tests {
		got, err := ParseMap(tt.in)
		if errString(err) != tt.err || (err == nil && got != tt.want) {
			t.Errorf("ParseMap(%q) = %+v, %v; want %+v, %s", tt.in, got, err, tt.want, tt.err)
		}
	}
	if got, err := ParseSet("locale= fr=FR"); err != nil || got != (MapEntry{Field: "locale", Value: " fr=FR"}) {
		t.Errorf("ParseSet = %+v, %v", got, err)
	}
	if _, err := ParseSet("=x"); !errors.Is(err, ErrMapping) {
		t.Errorf("ParseSet(=x) error = %v; want ErrMapping", err)
	}
}

func TestParseMapFile(t *testing.T) {
	in := "\ufeff# people export\n\nEmail Address=email_address\n  # dropped\nNotes=\n\"web\"=custom_fields.source\n"
	got, err := ParseMapFile(strings.NewReader(in), "people.map")
	want := []MapEntry{{Column: "Email Address", Field: "email_address"}, {Column: "Notes"}, {Field: "custom_fields.source", Value: "web"}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("ParseMapFile = %+v, %v; want %+v", got, err, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v; want %+v", i, got[i], want[i])
		}
	}
	_, err = ParseMapFile(strings.NewReader("a=b\n# ok\nbad line\n"), "people.map")
	var re *RecordError
	if !errors.As(err, &re) || re.Line != 3 || !errors.Is(err, ErrMapping) ||
		err.Error() != `people.map:3:1: invalid mapping: "bad line" has no '=' (want "Column=field", "Column=" to drop it, or '"value"=field')` {
		t.Errorf("ParseMapFile(bad line 3) error = %v; want a *RecordError on line 3 wrapping ErrMapping", err)
	}
}

// ParseMapping applies the file's rules, then --map's, then --set's, and
// each error says which rule it is about.
func TestParseMapping(t *testing.T) {
	file := t.TempDir() + "/people.map"
	if err := os.WriteFile(file, []byte("# comment\nEmail Address=email_address\nNotes=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ParseMapping(file, []string{"Owner=owner_id"}, []string{"custom_fields.source=nightly"})
	want := []MapEntry{{Column: "Email Address", Field: "email_address"}, {Column: "Notes"},
		{Column: "Owner", Field: "owner_id"}, {Field: "custom_fields.source", Value: "nightly"}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseMapping = %+v, %v; want %+v", got, err, want)
	}
	if got, err := ParseMapping("", nil, nil); err != nil || got != nil {
		t.Errorf("ParseMapping of nothing = %+v, %v; want no entries", got, err)
	}
	for _, tt := range []struct {
		file       string
		maps, sets []string
		prefix     string
	}{
		{file + ".missing", nil, nil, "map-file: "},
		{"", []string{"nofield"}, nil, `map "nofield": `},
		{"", nil, []string{"=x"}, `set "=x": `},
	} {
		_, err := ParseMapping(tt.file, tt.maps, tt.sets)
		if err == nil || !strings.HasPrefix(err.Error(), tt.prefix) {
			t.Errorf("ParseMapping(%q, %q, %q) error = %v; want it to begin %q", tt.file, tt.maps, tt.sets, err, tt.prefix)
		}
	}
}

// mapCase is a table case of the column mapping and the pre-flight checks:
// an input, its Config and Map rules, and what chunking it gives.
type mapCase struct {
	name     string
	in       string
	cfg      Config
	maps     []string // ParseMap rules, or "set:field=value" for ParseSet
	batches  []string
	rejects  []string
	warnings []string
	err      string
	is       error
}

// run chunks the case's input and checks batches, rejects, error and
// warnings.
func (tt mapCase) run(t *testing.T) {
	t.Helper()
	cfg := tt.cfg
	cfg.Map = mustMap(t, tt.maps...)
	var warnings []string
	cfg.OnWarning = func(w Warning) { warnings = append(warnings, w.String()) }
	res := runString(t, tt.in, cfg)
	res.check(t, tt.batches, tt.rejects, tt.err)
	if tt.is != nil && !errors.Is(res.err, tt.is) {
		t.Errorf("error %v; want errors.Is %v", res.err, tt.is)
	}
	if !equalStrings(warnings, tt.warnings) {
		t.Errorf("warnings = %q; want %q", warnings, tt.warnings)
	}
}
