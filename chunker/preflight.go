package chunker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/bulkload/bulkload/schema"
)

// Pre-flight: with a Config.Type that package schema documents, CSV
// records are checked against it before they are sent, so that a record
// the API would refuse costs no call. The header is checked once (unknown
// fields are warned about, a field no column or constant can give is an
// error); each row then costs a few cell-length tests.

// preflight is what the row check needs, set up from the header.
type preflight struct {
	typ      schema.Type
	anyOf    []int // columns giving one of typ.AnyOf; nil if a constant gives one or typ has none
	required []reqCol
	keyCol   int      // the column giving upsert_key, or -1
	keyDef   string   // the upsert_key of a record without one (UpsertKey, or the constant), or ""
	keyField []keyCol // for each of typ.UpsertKeys, what gives that field
}

type reqCol struct {
	field string
	col   int
}

// keyCol says what gives an upsert key's field: a column, a constant
// (constField) or nothing (-1).
type keyCol struct {
	key string
	col int
}

// newPreflight returns the checker for cfg.Type, or nil if schema does not
// document it.
func newPreflight(cfg Config) *preflight {
	typ, ok := schema.Lookup(cfg.Type)
	if !ok {
		return nil
	}
	return &preflight{typ: typ, keyCol: -1}
}

// setup checks the header's fields against the type and prepares the row
// check. seen maps each top-level-or-dotted target to its column (or
// constField).
func (p *preflight) setup(c *Chunker, r *csvReader, cols []headerCol, seen map[string]int) error {
	t := p.typ
	line := c.in.line
	mapErr := func(msg string) error {
		return c.recordError(line, 1, withDetail(ErrMapping, msg))
	}
	warned := map[string]bool{}
	for target, col := range sortedTargets(seen) {
		top, _, _ := strings.Cut(target, ".")
		if t.Has(top) || warned[top] {
			continue
		}
		warned[top] = true
		what := fmt.Sprintf("field %q", top)
		switch {
		case col == constField:
			what = fmt.Sprintf("set %q", top)
		case cols[col].target != cols[col].name:
			what = fmt.Sprintf("column %q (as %q)", cols[col].name, target)
		case col >= 0:
			what = fmt.Sprintf("column %q", cols[col].name)
		}
		msg := fmt.Sprintf("%s: %s has no field %q", what, t.Name, top)
		if near, ok := t.Closest(top); ok {
			msg += "; did you mean " + near + "?"
			if col >= 0 && !strings.Contains(cols[col].name, ".") {
				msg += fmt.Sprintf(" (--map %q)", cols[col].name+"="+near)
			}
		}
		name := top
		if col >= 0 {
			name = cols[col].name
		}
		c.warn(Warning{Kind: WarnUnknownField, Line: line, Field: name, Message: msg})
	}

	if len(t.AnyOf) > 0 {
		constant := false
		for _, f := range t.AnyOf {
			switch col, ok := seen[f]; {
			case ok && col == constField:
				constant = true
			case ok:
				p.anyOf = append(p.anyOf, col)
			}
		}
		if constant {
			p.anyOf = nil
		} else if len(p.anyOf) == 0 {
			return mapErr(fmt.Sprintf("%s records need one of %s, and no column gives one: map one (--map \"Column=%s\")",
				t.Name, strings.Join(t.AnyOf, ", "), t.AnyOf[len(t.AnyOf)-1]))
		}
	}
	var missing []string
	for _, f := range t.Required {
		switch col, ok := seen[f]; {
		case !ok:
			missing = append(missing, f)
		case col >= 0:
			p.required = append(p.required, reqCol{field: f, col: col})
		}
	}
	if len(missing) > 0 {
		return mapErr(fmt.Sprintf("%s records need %s, and no column gives %s: map a column to each (--map \"Column=%s\")",
			t.Name, strings.Join(t.Required, ", "), strings.Join(missing, ", "), missing[0]))
	}

	if len(t.UpsertKeys) == 0 {
		return nil
	}
	col, hasKey := seen[upsertKeyField]
	switch {
	case hasKey && col >= 0:
		p.keyCol = col
		p.keyDef = c.cfg.UpsertKey
	case hasKey: // a constant: Map's, or UpsertKey's
		for _, e := range c.cfg.Map {
			if e.Column == "" && e.Field == upsertKeyField {
				p.keyDef = e.Value
			}
		}
		if p.keyDef == "" {
			p.keyDef = c.cfg.UpsertKey
		}
		if !t.ValidUpsertKey(p.keyDef) {
			return mapErr(fmt.Sprintf("upsert_key %q: %s takes %s", p.keyDef, t.Name, strings.Join(t.UpsertKeys, ", ")))
		}
	default:
		c.warn(Warning{Kind: WarnNoUpsertKey, Line: line, Field: upsertKeyField,
			Message: fmt.Sprintf("no upsert_key column: the API will not update existing records, it creates a new one for each (set --upsert-key, one of %s)",
				strings.Join(t.UpsertKeys, ", "))})
	}
	for _, k := range t.UpsertKeys {
		kc := keyCol{key: k, col: -1}
		if col, ok := seen[k]; ok {
			kc.col = col
		}
		p.keyField = append(p.keyField, kc)
	}
	if p.keyDef != "" {
		if kc := p.keyFor(p.keyDef); kc.col == -1 {
			return mapErr(fmt.Sprintf("upsert_key %s: no column gives %s (map one with --map \"Column=%s\")", p.keyDef, p.keyDef, p.keyDef))
		}
	}
	return nil
}

// sortedTargets returns seen's targets in column order, then constants by
// name, so that warnings come out in a stable order.
func sortedTargets(seen map[string]int) func(func(string, int) bool) {
	targets := slices.Collect(maps.Keys(seen))
	slices.SortFunc(targets, func(a, b string) int {
		ca, cb := seen[a], seen[b]
		if (ca < 0) != (cb < 0) {
			return cmp.Compare(cb, ca) // columns (>= 0) first
		}
		return cmp.Or(cmp.Compare(ca, cb), strings.Compare(a, b))
	})
	return func(yield func(string, int) bool) {
		for _, t := range targets {
			if !yield(t, seen[t]) {
				return
			}
		}
	}
}

func (p *preflight) keyFor(k string) keyCol {
	for _, kc := range p.keyField {
		if kc.key == k {
			return kc
		}
	}
	return keyCol{key: k, col: -1}
}

// check returns why the current row (cells of row) fails the type, and the
// 0-based column it is about (-1 for the whole row), or nil.
func (p *preflight) check(row []byte, cells []csvCell) (int, error) {
	empty := func(col int) bool { return cells[col].end == cells[col].start }
	if len(p.anyOf) > 0 {
		ok := false
		for _, col := range p.anyOf {
			ok = ok || !empty(col)
		}
		if !ok {
			return -1, withDetail(ErrMissingField, fmt.Sprintf("%s needs one of %s; the row has none",
				p.typ.Name, strings.Join(p.typ.AnyOf, ", ")))
		}
	}
	for _, rc := range p.required {
		if empty(rc.col) {
			return rc.col, withDetail(ErrMissingField, fmt.Sprintf("%s needs %s; the row has none", p.typ.Name, rc.field))
		}
	}
	if len(p.typ.UpsertKeys) == 0 {
		return -1, nil
	}
	key, keyAt := p.keyDef, -1
	if p.keyCol >= 0 && !empty(p.keyCol) {
		v := cellValue(row, cells[p.keyCol])
		key, keyAt = "", p.keyCol
		for _, k := range p.typ.UpsertKeys {
			if string(v) == k {
				key = k
			}
		}
		if key == "" {
			return keyAt, withDetail(ErrUpsertKey, fmt.Sprintf("%q is not one of %s", v, strings.Join(p.typ.UpsertKeys, ", ")))
		}
	}
	if key == "" {
		return -1, nil
	}
	switch kc := p.keyFor(key); {
	case kc.col == constField:
	case kc.col < 0 || empty(kc.col):
		return keyAt, withDetail(ErrMissingField, fmt.Sprintf("upsert_key is %s, and the row has no %s", key, key))
	}
	return -1, nil
}
