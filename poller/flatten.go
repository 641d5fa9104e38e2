package poller

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// field is one column of a flattened record.
type field struct{ name, value string }

// flatten appends the fields of a record, a JSON object, in the order they
// are written: a nested object's fields under dotted names
// (custom_fields.source), strings unquoted, numbers and booleans as their
// JSON text, null as "", arrays as compact JSON. An empty or null record
// has no fields; one that is not an object is an error.
func flatten(dst []field, record json.RawMessage) ([]field, error) {
	record = bytes.TrimSpace(record)
	if len(record) == 0 || string(record) == "null" {
		return dst, nil
	}
	if record[0] != '{' {
		return dst, errors.New("the record is not a JSON object")
	}
	return flattenObject(dst, "", record)
}

func flattenObject(dst []field, prefix string, obj []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // {
		return dst, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return dst, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return dst, err
		}
		name := prefix + key
		switch {
		case len(raw) > 0 && raw[0] == '{':
			if dst, err = flattenObject(dst, name+".", raw); err != nil {
				return dst, err
			}
		default:
			v, err := scalar(raw)
			if err != nil {
				return dst, err
			}
			dst = append(dst, field{name, v})
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF { // }
		return dst, err
	}
	return dst, nil
}

// scalar renders a JSON value that is not an object as a CSV cell.
func scalar(raw json.RawMessage) (string, error) {
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 'n':
		return "", nil
	case '[':
		var b bytes.Buffer
		err := json.Compact(&b, raw)
		return b.String(), err
	}
	return string(raw), nil
}
