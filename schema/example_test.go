package schema_test

import (
	"fmt"

	"github.com/bulkload/bulkload/schema"
)

func ExampleType_Closest() {
	person, _ := schema.Lookup("person/upsert")
	for _, header := range []string{"Email Address", "frist_name", "Email", "favourite_colour"} {
		if f, ok := person.Closest(header); ok {
			fmt.Printf("%q: did you mean %s?\n", header, f)
		} else {
			fmt.Printf("%q: unknown\n", header)
		}
	}
	fmt.Println(person.UpsertKeys)
	// Output:
	// "Email Address": did you mean email_address?
	// "frist_name": did you mean first_name?
	// "Email": did you mean email_address?
	// "favourite_colour": unknown
	// [id crm_id email_address]
}
