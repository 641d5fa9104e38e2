// Package sample generates realistic person records for benchmarks, demos and
// tests: the kind of rows a CRM export holds, about 270 bytes each as JSON.
//
// Output is a pure function of the Options: the same seed gives the same bytes
// on every machine and Go version (math/rand/v2's PCG is specified), so
// benchmark inputs and demo files are reproducible.
package sample

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Options configures a generator. The zero value writes valid records from
// seed 0.
type Options struct {
	// Seed selects the sequence of records.
	Seed uint64
	// InvalidEvery, if positive, makes every InvalidEvery-th record (the
	// InvalidEvery-th, the 2·InvalidEvery-th, ...) one a loader must reject:
	// in JSONL a record cut short, an array instead of an object, or invalid
	// UTF-8, in turn; in CSV a row with a missing cell.
	InvalidEvery int
}

// Person is one generated record. Its JSON form uses the field names of a
// Salesloft person upsert.
type Person struct {
	EmailAddress string       `json:"email_address"`
	FirstName    string       `json:"first_name"`
	LastName     string       `json:"last_name"`
	Title        string       `json:"title,omitempty"`
	Phone        string       `json:"phone,omitempty"`
	Company      string       `json:"person_company_name"`
	City         string       `json:"city,omitempty"`
	State        string       `json:"state,omitempty"`
	Tags         []string     `json:"tags,omitempty"`
	CustomFields CustomFields `json:"custom_fields"`
	UpsertKey    string       `json:"upsert_key"`
}

// CustomFields holds a person's custom fields.
type CustomFields struct {
	Source string `json:"source"`
}

// Generator produces an endless, deterministic sequence of people. It is not
// safe for concurrent use.
type Generator struct {
	rng *rand.Rand
	n   int
}

// NewGenerator returns a generator for the sequence selected by seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// Next returns the next person.
func (g *Generator) Next() Person {
	r := g.rng
	g.n++
	first, last := pick(r, firstNames), pick(r, lastNames)
	company := pick(r, companies)
	domain := strings.ToLower(domainDrop.Replace(company)) + ".com"
	p := Person{
		EmailAddress: fmt.Sprintf("%s.%s.%d@%s", asciiLower(first), asciiLower(last), g.n, domain),
		FirstName:    first,
		LastName:     last,
		Company:      company,
		CustomFields: CustomFields{Source: pick(r, sources)},
		UpsertKey:    "email_address",
	}
	if r.IntN(10) < 7 {
		p.Title = pick(r, titles)
	}
	if r.IntN(10) < 8 {
		p.Phone = fmt.Sprintf("+1 %03d-555-%04d", 200+r.IntN(800), r.IntN(10000))
	}
	if r.IntN(10) < 9 {
		c := cities[r.IntN(len(cities))]
		p.City, p.State = c[0], c[1]
	}
	if r.IntN(3) == 0 {
		p.Tags = append(p.Tags, pick(r, tags))
	}
	return p
}

// WriteJSONL writes n people to w as JSON Lines: one compact JSON object per
// line, each line ending in '\n'.
func WriteJSONL(w io.Writer, n int, opt Options) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw) // Encode appends the '\n'
	enc.SetEscapeHTML(false)
	g := NewGenerator(opt.Seed)
	for i := 1; i <= n; i++ {
		p := g.Next()
		if opt.InvalidEvery > 0 && i%opt.InvalidEvery == 0 {
			if err := writeBadJSON(bw, p, i/opt.InvalidEvery); err != nil {
				return err
			}
			continue
		}
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// writeBadJSON writes one line a loader must reject, cycling through three
// kinds of damage.
func writeBadJSON(w *bufio.Writer, p Person, k int) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	switch k % 3 {
	case 1: // cut short, as by a crashed export
		b = b[:len(b)/2]
	case 2: // valid JSON, but not an object
		b = append(append([]byte{'['}, b...), ']')
	default: // Latin-1 bytes in a UTF-8 file
		b = []byte(strings.Replace(string(b), `"first_name":"`, "\"first_name\":\"Jos\xe9 ", 1))
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.WriteByte('\n')
}

// CSVHeader is the header row WriteCSV writes. The dotted name builds a
// nested object when the chunker reads it: custom_fields.source becomes
// {"custom_fields":{"source":...}}.
var CSVHeader = []string{
	"email_address", "first_name", "last_name", "title", "phone", "person_company_name",
	"city", "state", "tags", "custom_fields.source", "upsert_key",
}

// WriteCSV writes a header row and n people to w as CSV (RFC 4180, "\n" line
// endings). Tags are joined with ';'; absent values are empty cells.
func WriteCSV(w io.Writer, n int, opt Options) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	g := NewGenerator(opt.Seed)
	row := make([]string, len(CSVHeader))
	for i := 1; i <= n; i++ {
		p := g.Next()
		row = append(row[:0], p.EmailAddress, p.FirstName, p.LastName, p.Title, p.Phone, p.Company,
			p.City, p.State, strings.Join(p.Tags, ";"), p.CustomFields.Source, p.UpsertKey)
		if opt.InvalidEvery > 0 && i%opt.InvalidEvery == 0 {
			row = row[:len(row)-1] // a ragged row
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

var domainDrop = strings.NewReplacer(" ", "", ",", "", ".", "", "&", "")

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

// asciiLower lower-cases s and drops what is not a letter, for e-mail local
// parts.
func asciiLower(s string) string {
	b := make([]byte, 0, len(s))
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		}
	}
	if len(b) == 0 {
		return "x" + strconv.Itoa(len(s))
	}
	return string(b)
}
