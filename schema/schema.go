// Package schema knows the record fields of the Salesloft bulk job types
// that the API documentation describes, so that a load can be checked
// before it spends API calls: which top-level fields a record of a type may
// have, which it must have, and which values its upsert_key may take.
//
// The knowledge comes from the project's reading of the API documentation
// (shared/spec/salesloft-bulk-api.md §5): person/upsert takes the body of
// POST /v2/person_upserts.json, calendar/events/upsert the event upsert
// spec. Types the documentation does not describe (crm_share/upsert, or
// any other) are unknown to Lookup: nothing can be said about their
// records, so nothing is checked.
//
// Everything here is immutable data and pure functions, safe for
// concurrent use.
package schema

import (
	"fmt"
	"slices"
	"strings"
)

// Type is what the documentation says about the records of one bulk job
// type. Fields are top-level names; nested objects (custom_fields) are
// opaque.
type Type struct {
	// Name is the bulk job type, as in POST /v2/bulk_jobs: "person/upsert".
	Name string
	// Fields lists every documented top-level field, sorted.
	Fields []string
	// Required lists the fields every record must have.
	Required []string
	// AnyOf, when not empty, lists fields of which every record must have
	// at least one (person/upsert: id, crm_id or email_address: a person
	// is found or created by one of them).
	AnyOf []string
	// UpsertKeys lists the values the record field upsert_key may take;
	// empty when the type has no upsert_key field. A record whose
	// upsert_key names a field must have that field.
	UpsertKeys []string
}

// UpsertKeyField is the name of the record field that says which field an
// upsert matches existing records by.
const UpsertKeyField = "upsert_key"

var types = []Type{
	{
		Name: "person/upsert",
		Fields: []string{
			"account_id", "city", "contact_restrictions", "country", "crm_id", "crm_id_type",
			"custom_fields", "do_not_contact", "email_address", "first_name", "home_phone", "id",
			"import_id", "job_seniority", "last_name", "linkedin_url", "locale", "mobile_phone",
			"owner_id", "person_company_industry", "person_company_name", "person_company_website",
			"person_stage_id", "personal_email_address", "personal_website", "phone",
			"phone_extension", "secondary_email_address", "state", "tags", "title",
			"twitter_handle", "upsert_key", "work_city", "work_country", "work_state",
		},
		AnyOf:      []string{"id", "crm_id", "email_address"},
		UpsertKeys: []string{"id", "crm_id", "email_address"},
	},
	{
		Name: "calendar/events/upsert",
		Fields: []string{
			"all_day", "attendees", "calendar_id", "canceled_at", "description", "end_time",
			"i_cal_uid", "id", "location", "organizer", "recurring", "start_time", "status",
			"title", "updated_at",
		},
		Required: []string{"id", "i_cal_uid", "start_time", "end_time", "calendar_id"},
	},
}

// Lookup returns what is known about the bulk job type name, or false if
// the documentation does not describe it.
func Lookup(name string) (Type, bool) {
	for _, t := range types {
		if t.Name == name {
			return t, true
		}
	}
	return Type{}, false
}

// Names returns the names of the types Lookup knows.
func Names() []string {
	var names []string
	for _, t := range types {
		names = append(names, t.Name)
	}
	return names
}

// Has reports whether field is a documented top-level field of t.
func (t Type) Has(field string) bool {
	_, ok := slices.BinarySearch(t.Fields, field)
	return ok
}

// ValidUpsertKey reports whether v is a value t's upsert_key may take.
func (t Type) ValidUpsertKey(v string) bool { return slices.Contains(t.UpsertKeys, v) }

// Fold returns the documented field that name equals once surrounding
// spaces are trimmed and case is ignored (" Last_Name " is last_name), or
// false if there is none or name is already exact.
func (t Type) Fold(name string) (string, bool) {
	if t.Has(name) {
		return "", false
	}
	folded := strings.ToLower(strings.TrimSpace(name))
	if t.Has(folded) {
		return folded, true
	}
	return "", false
}

// Closest returns the documented field that name most likely means, for a
// "did you mean" hint: the field name becomes once spaces and hyphens are
// underscores and case is ignored ("Email Address" is email_address), or
// else the nearest by edit distance if it is near enough (at most a third
// of the name's length), or else the one name starts (a word of it:
// "Email" suggests email_address). It returns false if nothing is close.
func (t Type) Closest(name string) (string, bool) {
	norm := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, strings.ToLower(strings.TrimSpace(name)))
	if norm == "" {
		return "", false
	}
	if t.Has(norm) {
		return norm, true
	}
	best, bestD := "", len(norm)/3+1
	for _, f := range t.Fields {
		if d := Distance(norm, f); d < bestD {
			best, bestD = f, d
		}
	}
	if best != "" {
		return best, true
	}
	for _, f := range t.Fields {
		if strings.HasPrefix(f, norm+"_") {
			return f, true
		}
	}
	return "", false
}

// Distance is the Levenshtein distance between a and b, in bytes: how
// many single-byte edits turn one into the other, for suggesting the
// closest known name to one mistyped.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// CheckUpsertKey refuses an upsert_key value key that job type typ does not
// take, naming the values it does. With typ "" or a type not documented,
// it refuses a value that no documented type takes.
func CheckUpsertKey(typ, key string) error {
	if t, ok := Lookup(typ); ok {
		switch {
		case len(t.UpsertKeys) == 0:
			return fmt.Errorf("%s records have no %s", t.Name, UpsertKeyField)
		case !t.ValidUpsertKey(key):
			return fmt.Errorf("%s takes %s", t.Name, strings.Join(t.UpsertKeys, ", "))
		}
		return nil
	}
	var all []string
	for _, t := range types {
		if t.ValidUpsertKey(key) {
			return nil
		}
		all = append(all, t.UpsertKeys...)
	}
	slices.Sort(all)
	return fmt.Errorf("the documented types take %s", strings.Join(slices.Compact(all), ", "))
}
