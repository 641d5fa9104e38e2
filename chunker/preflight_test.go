package chunker

import (
	"strings"
	"testing"
)

func TestPreflight(t *testing.T) {
	person := Config{Type: "person/upsert", Format: FormatCSV, MaxRejects: -1}
	tests := []mapCase{
		{
			name: "a clean export", in: "email_address,first_name,upsert_key\na@x.com,Ann,email_address\n", cfg: person,
			batches: []string{`[{"email_address":"a@x.com","first_name":"Ann","upsert_key":"email_address"}]`},
		},
		{
			name: "unknown fields are warned about once, with the closest", cfg: person,
			in:      "Email,frist_name,custom_fields.source,zzz,upsert_key\na@x.com,Ann,web,1,email_address\n",
			maps:    []string{"Email=email_address", "set:nickname=Al"},
			batches: []string{`[{"email_address":"a@x.com","frist_name":"Ann","custom_fields":{"source":"web"},"zzz":"1","upsert_key":"email_address","nickname":"Al"}]`},
			warnings: []string{
				`input:1: column "frist_name": person/upsert has no field "frist_name"; did you mean first_name? (--map "frist_name=first_name")`,
				`input:1: column "zzz": person/upsert has no field "zzz"`,
				`input:1: set "nickname": person/upsert has no field "nickname"`,
			},
		},
		{
			name: "Email Address is suggested", cfg: person, in: "Email Address,email_address\nx,a@x.com\n",
			batches: []string{`[{"Email Address":"x","email_address":"a@x.com"}]`},
			warnings: []string{
				`input:1: column "Email Address": person/upsert has no field "Email Address"; did you mean email_address? (--map "Email Address=email_address")`,
				`input:1: no upsert_key column: the API will not update existing records, it creates a new one for each (set --upsert-key, one of id, crm_id, email_address)`,
			},
		},
		{
			name: "fields match ignoring case and spaces", cfg: Config{Type: "person/upsert", Format: FormatCSV, UpsertKey: "email_address"},
			in:       " Email_Address ; Last_Name \na@x.com;Lovelace\n",
			batches:  []string{`[{"email_address":"a@x.com","last_name":"Lovelace","upsert_key":"email_address"}]`},
			warnings: []string{`input:1: column " Email_Address " taken as email_address (matched ignoring case and spaces)`, `input:1: column " Last_Name " taken as last_name (matched ignoring case and spaces)`},
		},
		{
			name: "records without a way to find the person are rejected", cfg: person,
			in:      "email_address,crm_id,first_name,upsert_key\na@x.com,,Ann,\n,,Bob,\n,003,Cy,crm_id\n,003,Di,email_address\n,003,Ed,name\n",
			batches: []string{`[{"email_address":"a@x.com","first_name":"Ann"},{"crm_id":"003","first_name":"Cy","upsert_key":"crm_id"}]`},
			rejects: []string{
				"3:1: missing required field: person/upsert needs one of id, crm_id, email_address; the row has none",
				"5:9: missing required field: upsert_key is email_address, and the row has no email_address",
				`6:9: invalid upsert_key: "name" is not one of id, crm_id, email_address`,
			},
		},
		{
			name: "UpsertKey applies to each row", cfg: Config{Type: "person/upsert", Format: FormatCSV, MaxRejects: -1, UpsertKey: "email_address"},
			in:      "email_address,crm_id\na@x.com,\n,003\n",
			batches: []string{`[{"email_address":"a@x.com","upsert_key":"email_address"}]`},
			rejects: []string{"3:1: missing required field: upsert_key is email_address, and the row has no email_address"},
		},
		{
			name: "a header that cannot give a key", cfg: person, in: "Email,name\na,b\n", is: ErrMapping,
			warnings: []string{
				`input:1: column "Email": person/upsert has no field "Email"; did you mean email_address? (--map "Email=email_address")`,
				`input:1: column "name": person/upsert has no field "name"`,
			},
			err: `input:1:1: invalid mapping: person/upsert records need one of id, crm_id, email_address, and no column gives one: map one (--map "Column=email_address")`,
		},
		{
			name: "UpsertKey names a field no column gives", cfg: Config{Type: "person/upsert", Format: FormatCSV, UpsertKey: "crm_id"},
			in: "email_address\na\n", is: ErrMapping,
			err: `input:1:1: invalid mapping: upsert_key crm_id: no column gives crm_id (map one with --map "Column=crm_id")`,
		},
		{
			name: "UpsertKey the type does not take", cfg: Config{Type: "person/upsert", Format: FormatCSV, UpsertKey: "name"},
			in:  "email_address\na\n",
			err: `chunker: UpsertKey "name": person/upsert takes id, crm_id, email_address`,
		},
		{
			name: "calendar events need their fields", cfg: Config{Type: "calendar/events/upsert", Format: FormatCSV, MaxRejects: -1},
			in:      "id,i_cal_uid,start_time,end_time,calendar_id,title\n1,u,s,e,c,t\n2,u,s,,c,t\n",
			batches: []string{`[{"id":"1","i_cal_uid":"u","start_time":"s","end_time":"e","calendar_id":"c","title":"t"}]`},
			rejects: []string{"3:7: missing required field: calendar/events/upsert needs end_time; the row has none"},
		},
		{
			name: "a calendar header without a required field", cfg: Config{Type: "calendar/events/upsert", Format: FormatCSV},
			in: "id,i_cal_uid,start_time,end_time\n1,u,s,e\n", is: ErrMapping,
			err: `input:1:1: invalid mapping: calendar/events/upsert records need id, i_cal_uid, start_time, end_time, calendar_id, and no column gives calendar_id: map a column to each (--map "Column=calendar_id")`,
		},
		{
			name: "a constant satisfies a requirement", cfg: Config{Type: "calendar/events/upsert", Format: FormatCSV},
			in: "id,i_cal_uid,start_time,end_time\n1,u,s,e\n", maps: []string{"set:calendar_id=c9"},
			batches: []string{`[{"id":"1","i_cal_uid":"u","start_time":"s","end_time":"e","calendar_id":"c9"}]`},
		},
		{
			name: "undocumented types are not checked", cfg: Config{Type: "crm_share/upsert", Format: FormatCSV},
			in: "anything\n1\n", batches: []string{`[{"anything":"1"}]`},
		},
		{
			name: "rejects count against MaxRejects", cfg: Config{Type: "person/upsert", Format: FormatCSV, UpsertKey: "email_address"},
			in: "email_address,first_name\na@x.com,A\n,B\n", is: ErrMissingField,
			err: "input:3:1: missing required field: person/upsert needs one of id, crm_id, email_address; the row has none",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t) })
	}
}

func TestRecordLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		cfg  Config
		want [][]int
	}{
		{"CSV", "a\n1\n\n\"2\n2\"\nx,y\n3\n4\n", Config{Format: FormatCSV, MaxRejects: -1, MaxRecords: 2}, [][]int{{2, 4}, {7, 8}}},
		{"CSV CR", "a\r1\r\r2\r", Config{Format: FormatCSV}, [][]int{{2, 4}}},
		{"JSONL", "{}\n\n[]\n{\"a\":1}\r\n  {} \n", Config{Format: FormatJSONL, MaxRejects: -1}, [][]int{{1, 4, 5}}},
		{"array", "[{},\n1,\n{\n\"a\":1},{}]", Config{Format: FormatJSONArray, MaxRejects: -1, MaxRecords: 2}, [][]int{{1, 3}, {4}}},
		{"by byte", "a\n" + strings.Repeat("1\n", 7), Config{Format: FormatCSV, MaxRecords: 3}, [][]int{{2, 3, 4}, {5, 6, 7}, {8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.RecordLines = true
			res := runString(t, tt.in, cfg)
			if res.err != nil || len(res.all) != len(tt.want) {
				t.Fatalf("%d batches, error %v; want %d", len(res.all), res.err, len(tt.want))
			}
			for i, b := range res.all {
				if !equalInts(b.Lines, tt.want[i]) || b.Lines[0] != b.FirstLine || len(b.Lines) != b.Records {
					t.Errorf("batch %d Lines = %v (FirstLine %d, %d records); want %v", i, b.Lines, b.FirstLine, b.Records, tt.want[i])
				}
			}
			cfg.RecordLines = false
			for _, b := range runString(t, tt.in, cfg).all {
				if b.Lines != nil {
					t.Errorf("Lines = %v without RecordLines; want nil", b.Lines)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPreflightJSON(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		cfg      Config
		batches  []string
		rejects  []string
		warnings []string
	}{
		{
			name: "UpsertKey is added where it lacks", cfg: Config{Format: FormatJSONL, UpsertKey: "email_address"},
			in:      "{\"email_address\":\"a\"}\n{}\n{\"upsert_key\":null,\"x\":1}\n{\"upsert_key\":\"crm_id\"}\n",
			batches: []string{`[{"email_address":"a","upsert_key":"email_address"},{"upsert_key":"email_address"},{"upsert_key":"email_address","x":1},{"upsert_key":"crm_id"}]`},
		},
		{
			name: "person/upsert", cfg: Config{Format: FormatJSONL, Type: "person/upsert", MaxRejects: -1},
			in: `{"email_address":"a@x.com","upsert_key":"email_address","Email Address":1}` + "\n" +
				`{"first_name":"Bob","email_address":""}` + "\n" +
				`{"crm_id":"003","upsert_key":"email_address"}` + "\n" +
				`  {"crm_id":"003","upsert_key":"name"}` + "\n" +
				`{"id":7}` + "\n",
			batches: []string{`[{"email_address":"a@x.com","upsert_key":"email_address","Email Address":1},{"id":7}]`},
			rejects: []string{
				"2:1: missing required field: person/upsert needs one of id, crm_id, email_address; the record has none",
				"3:30: missing required field: upsert_key is email_address, and the record has no email_address",
				`4:32: invalid upsert_key: "name" is not one of id, crm_id, email_address`,
			},
			warnings: []string{
				`input:1: field "Email Address": person/upsert has no field "Email Address"; did you mean email_address?`,
				`input:5: a record without upsert_key: the API will not update existing records, it creates a new one for each (set --upsert-key, one of id, crm_id, email_address)`,
			},
		},
		{
			name: "calendar events in an array", cfg: Config{Format: FormatJSONArray, Type: "calendar/events/upsert", MaxRejects: -1},
			in:      `[{"id":"1","i_cal_uid":"u","start_time":"s","end_time":"e","calendar_id":"c"}, {"id":"2"}]`,
			batches: []string{`[{"id":"1","i_cal_uid":"u","start_time":"s","end_time":"e","calendar_id":"c"}]`},
			rejects: []string{"1:80: missing required field: calendar/events/upsert needs i_cal_uid; the record has none"},
		},
		{
			name: "UpsertKey in an array", cfg: Config{Format: FormatJSONArray, UpsertKey: "id", Type: "person/upsert"},
			in:      `[{"id":1},{"id":2,"upsert_key":""}]`,
			batches: []string{`[{"id":1,"upsert_key":"id"},{"id":2,"upsert_key":"id"}]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			var warnings []string
			cfg.OnWarning = func(w Warning) { warnings = append(warnings, w.String()) }
			res := runString(t, tt.in, cfg)
			res.check(t, tt.batches, tt.rejects, "")
			if !equalStrings(warnings, tt.warnings) {
				t.Errorf("warnings = %q; want %q", warnings, tt.warnings)
			}
		})
	}
}
