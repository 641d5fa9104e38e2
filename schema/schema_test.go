package schema

import (
	"fmt"
	"slices"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, name := range Names() {
		typ, ok := Lookup(name)
		if !ok || typ.Name != name {
			t.Errorf("Lookup(%q) = %q, %v; want it", name, typ.Name, ok)
		}
		if !slices.IsSorted(typ.Fields) {
			t.Errorf("%s: Fields not sorted", name)
		}
		for _, f := range append(append(typ.Required, typ.AnyOf...), typ.UpsertKeys...) {
			if !typ.Has(f) {
				t.Errorf("%s: %q is required or a key but not a field", name, f)
			}
		}
	}
	if _, ok := Lookup("crm_share/upsert"); ok {
		t.Error("Lookup(crm_share/upsert) found a type the documentation does not describe")
	}
}

func TestClosestAndFold(t *testing.T) {
	person, _ := Lookup("person/upsert")
	tests := []struct {
		name, closest, fold string
	}{
		{"Email Address", "email_address", ""},
		{" Last_Name ", "last_name", "last_name"},
		{"last_name", "last_name", ""},
		{"frist_name", "first_name", ""},
		{"Email", "email_address", ""},
		{"phone-extension", "phone_extension", ""},
		{"zzzzzzzz", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got, _ := person.Closest(tt.name); got != tt.closest {
			t.Errorf("Closest(%q) = %q; want %q", tt.name, got, tt.closest)
		}
		if got, _ := person.Fold(tt.name); got != tt.fold {
			t.Errorf("Fold(%q) = %q; want %q", tt.name, got, tt.fold)
		}
	}
	if !person.ValidUpsertKey("crm_id") || person.ValidUpsertKey("first_name") {
		t.Error("ValidUpsertKey wrong for crm_id or first_name")
	}
}

func TestCheckUpsertKey(t *testing.T) {
	for _, tt := range []struct {
		typ, key string
		err      string // "" for none
	}{
		{"person/upsert", "email_address", ""},
		{"person/upsert", "email", "person/upsert takes id, crm_id, email_address"},
		{"calendar/events/upsert", "id", "calendar/events/upsert records have no upsert_key"},
		{"", "crm_id", ""},
		{"crm_share/upsert", "crm_id", ""}, // not documented: any documented type's key
		{"", "email", "the documented types take crm_id, email_address, id"},
	} {
		err := CheckUpsertKey(tt.typ, tt.key)
		if got := fmt.Sprint(err); tt.err == "" && err != nil || tt.err != "" && got != tt.err {
			t.Errorf("CheckUpsertKey(%q, %q) = %v; want %q", tt.typ, tt.key, err, tt.err)
		}
	}
}
