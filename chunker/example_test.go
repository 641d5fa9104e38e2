package chunker_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bulkload/bulkload/chunker"
)

func Example() {
	in := `email_address,first_name,custom_fields.source
ada@example.com,Ada,webinar
grace@example.com,Grace,
alan@example.com
linus@example.com,Linus,referral
`
	c, err := chunker.New(strings.NewReader(in), chunker.Config{
		Source:     "people.csv",
		MaxRecords: 2,
		MaxRejects: 10,
		OnReject: func(r chunker.Reject) {
			fmt.Printf("rejected %q: %v\n", r.Record, r.Err)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		b, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("batch %d: %d records, lines %d-%d\n%s\n", b.Seq, b.Records, b.FirstLine, b.LastLine, b.Body)
	}
	fmt.Printf("%+v\n", c.Stats())
	// Output:
	// batch 0: 2 records, lines 2-3
	// {"data":[{"email_address":"ada@example.com","first_name":"Ada","custom_fields":{"source":"webinar"}},{"email_address":"grace@example.com","first_name":"Grace"}]}
	// rejected "alan@example.com": people.csv:4:1: wrong number of fields: row has 1 fields, header has 3
	// batch 1: 1 records, lines 5-5
	// {"data":[{"email_address":"linus@example.com","first_name":"Linus","custom_fields":{"source":"referral"}}]}
	// {Batches:2 Records:3 Rejects:1 Lines:5 Bytes:149 InputBytes:149}
}

// A Windows-1252, ';'-separated export with spreadsheet headers, mapped to
// person/upsert fields and checked before anything is sent.
func Example_spreadsheet() {
	export := "Email Address;First Name;Notes;Source\r\n" +
		"m\xfcller@example.de;J\xf6rg;call back;fair\r\n" +
		";Anna;no email;web\r\n"
	mapping, err := chunker.ParseMapFile(strings.NewReader(`# export from the CRM
Email Address=email_address
First Name=first_name
Notes=
Source=custom_fields.source
`), "people.map")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := chunker.New(strings.NewReader(export), chunker.Config{
		Source:      "export.csv",
		Encoding:    "windows-1252",
		Map:         mapping,
		UpsertKey:   "email_address",
		Type:        "person/upsert",
		RecordLines: true,
		MaxRejects:  -1,
		OnReject:    func(r chunker.Reject) { fmt.Println("rejected:", r.Err) },
		OnWarning:   func(w chunker.Warning) { fmt.Println("warning:", w) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := c.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("lines %v: %s\n", b.Lines, b.Body)
	// Output:
	// rejected: export.csv:3:1: missing required field: person/upsert needs one of id, crm_id, email_address; the row has none
	// lines [2]: {"data":[{"email_address":"müller@example.de","first_name":"Jörg","custom_fields":{"source":"fair"},"upsert_key":"email_address"}]}
}
