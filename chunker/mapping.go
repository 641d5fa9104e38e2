package chunker

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// MapEntry is one rule of Config.Map: it maps a CSV column to a field,
// drops a column, or sets a constant field. The rules are those of
// Salesforce Data Loader's mapping files: "Column=field", "Column=" and
// "\"constant\"=field".
type MapEntry struct {
	// Column is the header column the entry takes its values from; empty
	// for a constant.
	Column string
	// Field is the record field the values go to; a dotted name
	// (custom_fields.source) builds nested objects, as in a header. Empty
	// drops the column.
	Field string
	// Value is the constant every record gets in Field when Column is
	// empty. Like every CSV value it is a JSON string.
	Value string
}

// ParseMap parses "Source Column=target_field" (the first '=' splits, both
// sides are trimmed of spaces): the column's values go to the field;
// "Column=" drops the column; "\"value\"=field" (a quoted left side) sets a
// constant, like ParseSet("field=value").
func ParseMap(s string) (MapEntry, error) {
	col, field, ok := strings.Cut(s, "=")
	col, field = strings.TrimSpace(col), strings.TrimSpace(field)
	switch {
	case !ok:
		return MapEntry{}, fmt.Errorf("%w: %q has no '=' (want \"Column=field\", \"Column=\" to drop it, or '\"value\"=field')", ErrMapping, s)
	case col == "":
		return MapEntry{}, fmt.Errorf("%w: %q names no column", ErrMapping, s)
	case len(col) >= 2 && col[0] == '"' && col[len(col)-1] == '"':
		if field == "" {
			return MapEntry{}, fmt.Errorf("%w: %q sets a constant but names no field", ErrMapping, s)
		}
		return MapEntry{Field: field, Value: col[1 : len(col)-1]}, checkField(s, field)
	}
	if field == "" {
		return MapEntry{Column: col}, nil
	}
	return MapEntry{Column: col, Field: field}, checkField(s, field)
}

// ParseSet parses "field=value" (the first '=' splits; the field is
// trimmed of spaces, the value is kept as written): every record gets the
// constant value in field.
func ParseSet(s string) (MapEntry, error) {
	field, value, ok := strings.Cut(s, "=")
	field = strings.TrimSpace(field)
	if !ok || field == "" {
		return MapEntry{}, fmt.Errorf("%w: set %q: want \"field=value\"", ErrMapping, s)
	}
	return MapEntry{Field: field, Value: value}, checkField(s, field)
}

// checkField checks a target field name: non-empty dotted segments.
func checkField(s, field string) error {
	for seg := range strings.SplitSeq(field, ".") {
		if seg == "" {
			return fmt.Errorf("%w: %q: field %q has an empty name", ErrMapping, s, field)
		}
	}
	return nil
}

// ParseMapFile reads a mapping file: one ParseMap entry per line; blank
// lines and lines starting with '#' (after spaces) are skipped. name names
// the file in errors, which are *RecordError values with the line, wrapping
// ErrMapping.
func ParseMapFile(r io.Reader, name string) ([]MapEntry, error) {
	var entries []MapEntry
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if text == "" || text[0] == '#' {
			continue
		}
		e, err := ParseMap(text)
		if err != nil {
			return nil, &RecordError{Source: name, Line: line, Column: 1, Err: err}
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("chunker: %s: %w", name, err)
	}
	return entries, nil
}

// ParseMapping builds Config.Map from the rules a command line or a
// configuration gives: the lines of the mapping file mapFile (if not ""),
// then each ParseMap rule of maps, then each ParseSet rule of sets, in that
// order. Each error begins with what it is about: "map-file: ",
// "map \"rule\": " or "set \"rule\": ".
func ParseMapping(mapFile string, maps, sets []string) ([]MapEntry, error) {
	var entries []MapEntry
	if mapFile != "" {
		f, err := os.Open(mapFile)
		if err != nil {
			return nil, fmt.Errorf("map-file: %w", err)
		}
		defer f.Close()
		if entries, err = ParseMapFile(f, mapFile); err != nil {
			return nil, fmt.Errorf("map-file: %w", err)
		}
	}
	for _, rules := range []struct {
		kind  string
		specs []string
		parse func(string) (MapEntry, error)
	}{{"map", maps, ParseMap}, {"set", sets, ParseSet}} {
		for _, s := range rules.specs {
			e, err := rules.parse(s)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", rules.kind, s, err)
			}
			entries = append(entries, e)
		}
	}
	return entries, nil
}
