package uploader

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// A digest identifies a record by content: the SHA-256 of its canonical
// form (see canonical).
type digest [sha256.Size]byte

// recordDigests returns the digests of the records of a {"data":[...]}
// body, in order.
func recordDigests(body []byte) ([]digest, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var out []digest
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if key, _ := tok.(string); key != "data" || found {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		found = true
		if err := expectDelim(dec, '['); err != nil {
			return nil, err
		}
		for dec.More() {
			var rec any
			if err := dec.Decode(&rec); err != nil {
				return nil, err
			}
			d, err := digestOf(rec)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, errors.New(`the body has no "data" array`)
	}
	return out, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("the body has %v where %v was expected", tok, want)
	}
	return nil
}

// rowDigest returns the digest of a record as the API lists it.
func rowDigest(raw json.RawMessage) (digest, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var rec any
	if err := dec.Decode(&rec); err != nil {
		return digest{}, fmt.Errorf("a listed record is not JSON: %w", err)
	}
	return digestOf(rec)
}

// digestOf hashes the canonical form of a decoded record: object keys
// sorted, no insignificant white space, strings with the same escapes and
// numbers as written. Two serialisations of one record, as a server that
// re-encodes it might produce, get the same digest.
func digestOf(rec any) (digest, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return digest{}, err
	}
	return sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// multiset counts digests.
type multiset map[digest]int

func multisetOf(ds []digest) multiset {
	m := make(multiset, len(ds))
	for _, d := range ds {
		m[d]++
	}
	return m
}
