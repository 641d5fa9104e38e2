package chunker

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bulkload/bulkload/internal/jsonscan"
	"github.com/bulkload/bulkload/schema"
)

// jsonCheck applies Config.UpsertKey and Config.Type's pre-flight to JSON
// records, which otherwise go to the body byte for byte. Only top-level
// members are looked at: a record is walked member by member, and changed
// only to give it an upsert_key. It is set up only when one of those
// options is, so JSON without them pays nothing.
type jsonCheck struct {
	typ     schema.Type
	known   bool                // typ is documented
	fields  map[string]struct{} // typ's fields, for lookups without allocation
	watch   []string            // the fields the checks need: AnyOf, Required, UpsertKeys
	has     []bool              // per record: whether watch[i] has a non-empty value
	key     string              // Config.UpsertKey
	keyJSON []byte              // key as a JSON string
	unknown map[string]bool     // unknown fields already warned about (at most maxUnknown)
	noKey   bool                // WarnNoUpsertKey was given
	scratch []byte              // a record given an upsert_key
}

// maxUnknown bounds the distinct unknown fields remembered, so that input
// whose keys are all different costs bounded memory.
const maxUnknown = 100

func newJSONCheck(cfg Config) *jsonCheck {
	typ, known := schema.Lookup(cfg.Type)
	if !known && cfg.UpsertKey == "" {
		return nil
	}
	j := &jsonCheck{typ: typ, known: known, key: cfg.UpsertKey, fields: map[string]struct{}{}, unknown: map[string]bool{}}
	for _, f := range typ.Fields {
		j.fields[f] = struct{}{}
	}
	for _, f := range append(append(append([]string(nil), typ.AnyOf...), typ.Required...), typ.UpsertKeys...) {
		if !contains(j.watch, f) {
			j.watch = append(j.watch, f)
		}
	}
	j.has = make([]bool, len(j.watch))
	if j.key != "" {
		j.keyJSON, _ = appendString(nil, []byte(j.key), false)
	}
	return j
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// member is a top-level member of a record: rec[ks:ke] is the key as
// written (without quotes), rec[vs:ve] its value.
type member struct{ ks, ke, vs, ve int }

// nextMember returns the member at or after rec[i] (i just past '{' or a
// member), and the index past it; ok is false at the closing '}'. rec is a
// valid JSON object.
func nextMember(rec []byte, i int) (m member, next int, ok bool) {
	for isSpace(rec[i]) || rec[i] == ',' {
		i++
	}
	if rec[i] == '}' {
		return m, i, false
	}
	m.ks = i + 1
	for i = m.ks; rec[i] != '"'; i++ {
		if rec[i] == '\\' {
			i++
		}
	}
	m.ke = i
	for i++; isSpace(rec[i]) || rec[i] == ':'; i++ {
	}
	m.vs = i
	end, _ := jsonscan.Value(rec[i:]) // rec is valid: no error
	m.ve = i + end
	return m, m.ve, true
}

// key returns a member's key, decoded if it has escapes.
func (m member) key(rec []byte) string {
	k := rec[m.ks:m.ke]
	if strings.IndexByte(string(k), '\\') < 0 {
		return string(k)
	}
	var s string
	json.Unmarshal(rec[m.ks-1:m.ke+1], &s)
	return s
}

// empty reports whether a member's value is null or "".
func (m member) empty(rec []byte) bool {
	v := string(rec[m.vs:m.ve])
	return v == "null" || v == `""`
}

// check applies UpsertKey and the pre-flight to rec, a valid JSON object
// starting at column col0+1 of line. It returns the record to send (rec,
// or rec given an upsert_key in scratch space valid until the next call),
// or the reason to reject it.
func (j *jsonCheck) check(c *Chunker, rec []byte, line, col0 int) ([]byte, *RecordError) {
	clear(j.has)
	keyAt, keyVal := member{}, []byte(nil) // the upsert_key member, if any; its string value if plain
	hasKey := false
	for i := 1; ; {
		m, next, ok := nextMember(rec, i)
		if !ok {
			break
		}
		i = next
		k := rec[m.ks:m.ke]
		if string(k) == upsertKeyField {
			keyAt, hasKey = m, !m.empty(rec)
			if v := rec[m.vs:m.ve]; len(v) >= 2 && v[0] == '"' {
				keyVal = v[1 : len(v)-1]
			}
		}
		for w, f := range j.watch {
			if string(k) == f && !m.empty(rec) {
				j.has[w] = true
			}
		}
		if _, ok := j.fields[string(k)]; !ok && j.known && len(j.unknown) < maxUnknown {
			name := m.key(rec)
			if _, ok := j.fields[name]; !ok && !j.unknown[name] {
				j.unknown[name] = true
				msg := fmt.Sprintf("field %q: %s has no field %q", name, j.typ.Name, name)
				if near, ok := j.typ.Closest(name); ok {
					msg += "; did you mean " + near + "?"
				}
				c.warn(Warning{Kind: WarnUnknownField, Line: line, Field: name, Message: msg})
			}
		}
	}
	fail := func(col int, reason error) ([]byte, *RecordError) {
		return nil, c.recordError(line, col, reason)
	}
	t := j.typ
	if len(t.AnyOf) > 0 && !j.hasAny(t.AnyOf) {
		return fail(col0+1, withDetail(ErrMissingField, fmt.Sprintf("%s needs one of %s; the record has none",
			t.Name, strings.Join(t.AnyOf, ", "))))
	}
	for _, f := range t.Required {
		if !j.hasAny([]string{f}) {
			return fail(col0+1, withDetail(ErrMissingField, fmt.Sprintf("%s needs %s; the record has none", t.Name, f)))
		}
	}
	key := ""
	switch {
	case hasKey && keyVal == nil:
		key = "\x00" // not a plain string: invalid below
	case hasKey:
		key = string(keyVal)
	default:
		key = j.key
	}
	if len(t.UpsertKeys) > 0 && key != "" {
		col := col0 + 1
		if hasKey {
			col = col0 + keyAt.vs + 1
		}
		if !t.ValidUpsertKey(key) {
			return fail(col, withDetail(ErrUpsertKey, fmt.Sprintf("%s is not one of %s", rec[keyAt.vs:keyAt.ve], strings.Join(t.UpsertKeys, ", "))))
		}
		if !j.hasAny([]string{key}) {
			return fail(col, withDetail(ErrMissingField, fmt.Sprintf("upsert_key is %s, and the record has no %s", key, key)))
		}
	}
	if key == "" && len(t.UpsertKeys) > 0 && !j.noKey {
		j.noKey = true
		c.warn(Warning{Kind: WarnNoUpsertKey, Line: line, Field: upsertKeyField,
			Message: fmt.Sprintf("a record without upsert_key: the API will not update existing records, it creates a new one for each (set --upsert-key, one of %s)",
				strings.Join(t.UpsertKeys, ", "))})
	}
	if hasKey || j.key == "" {
		return rec, nil
	}
	// Give the record its upsert_key: in place of an empty one, or last.
	out := j.scratch[:0]
	if keyAt.ve > 0 {
		out = append(out, rec[:keyAt.vs]...)
		out = append(out, j.keyJSON...)
		out = append(out, rec[keyAt.ve:]...)
	} else {
		body := rec[:len(rec)-1] // without the closing '}'
		out = append(out, body...)
		if _, _, any := nextMember(rec, 1); any {
			out = append(out, ',')
		}
		out = append(out, `"upsert_key":`...)
		out = append(out, j.keyJSON...)
		out = append(out, '}')
	}
	j.scratch = out
	if len(out) > c.cfg.MaxRecordBytes {
		return fail(col0+1, withDetail(ErrRecordTooLarge, "once given its upsert_key"))
	}
	return out, nil
}

// hasAny reports whether the record has a non-empty value for one of
// fields, all of which are watched.
func (j *jsonCheck) hasAny(fields []string) bool {
	for w, f := range j.watch {
		if j.has[w] && contains(fields, f) {
			return true
		}
	}
	return false
}
