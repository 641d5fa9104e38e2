package apitest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxRecords is the most records one job_data call may carry (§2.5).
const maxRecords = 5000

// bodyError is a request body the emulator refuses: status 400 answers
// {"error": msg}; status 422 answers {"errors": {field: [msg]}}.
type bodyError struct {
	status int
	field  string
	msg    string
}

func malformed(err error) *bodyError {
	return &bodyError{status: http.StatusBadRequest, msg: err.Error()}
}

func invalid(field, msg string) *bodyError {
	return &bodyError{status: http.StatusUnprocessableEntity, field: field, msg: msg}
}

// readBody reads the whole request body, at most cfg.MaxBodyBytes. When it
// reports false it has already answered (413, or 400 on a read error).
func (x *exchange) readBody() ([]byte, bool) {
	limit := x.e.cfg.MaxBodyBytes
	r := x.r
	if r.ContentLength > limit {
		x.tooLarge()
		return nil, false
	}
	body := http.MaxBytesReader(x.w, r.Body, limit)
	var (
		buf []byte
		err error
	)
	if r.ContentLength >= 0 {
		// Allocate as the body arrives, not as declared: a client that
		// declares MaxBodyBytes and sends nothing must not cost that much.
		buf = make([]byte, 0, min(r.ContentLength, 1<<20))
		for err == nil && int64(len(buf)) < r.ContentLength {
			if len(buf) == cap(buf) {
				buf = slices.Grow(buf, int(min(r.ContentLength, int64(2*cap(buf))))-len(buf))
			}
			var n int
			n, err = body.Read(buf[len(buf):min(int64(cap(buf)), r.ContentLength)])
			buf = buf[:len(buf)+n]
		}
		if err == io.EOF && int64(len(buf)) == r.ContentLength {
			err = nil
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	} else {
		var bb bytes.Buffer
		_, err = bb.ReadFrom(body)
		buf = bb.Bytes()
	}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			x.tooLarge()
		} else {
			x.fail(http.StatusBadRequest, "could not read the request body: "+err.Error())
		}
		return nil, false
	}
	return buf, true
}

func (x *exchange) tooLarge() {
	x.fail(http.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body exceeds %d bytes", x.e.cfg.MaxBodyBytes))
}

// isForm reports whether the request body is form-encoded.
func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// parseFields parses the body of a create or update call into its members,
// each as raw JSON (the last of repeated keys wins). An empty body is an
// empty object. A form-encoded body is accepted too: each value becomes a
// JSON string, except "true" and "false" for ready_to_execute, which become
// JSON booleans.
func parseFields(body []byte, form bool) (map[string][]byte, *bodyError) {
	fields := make(map[string][]byte)
	if form {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, malformed(fmt.Errorf("malformed form body: %w", err))
		}
		for k, vs := range vals {
			v := strings.ToValidUTF8(vs[len(vs)-1], "\uFFFD")
			if k == "ready_to_execute" && (v == "true" || v == "false") {
				fields[k] = []byte(v)
			} else {
				fields[k] = appendString(nil, v)
			}
		}
		return fields, nil
	}
	if !utf8.Valid(body) {
		return nil, malformed(errors.New("request body is not valid UTF-8"))
	}
	s := scanner{b: body}
	s.ws()
	if s.i == len(body) {
		return fields, nil
	}
	if body[s.i] != '{' {
		return nil, notObject(&s)
	}
	err := s.members(func(key []byte) error {
		start := s.i
		if err := s.value(); err != nil {
			return err
		}
		if k, ok := decodeString(key); ok {
			fields[k] = body[start:s.i]
		}
		return nil
	})
	if err == nil {
		err = trailing(&s)
	}
	if err != nil {
		return nil, malformed(err)
	}
	return fields, nil
}

// notObject answers a body that is not a JSON object: malformed either way.
func notObject(s *scanner) *bodyError {
	if err := s.value(); err != nil {
		return malformed(err)
	}
	if err := trailing(s); err != nil {
		return malformed(err)
	}
	return malformed(errors.New("request body must be a JSON object"))
}

func trailing(s *scanner) error {
	s.ws()
	if s.i != len(s.b) {
		return s.fail("data after the JSON value")
	}
	return nil
}

// parseJobData scans a job_data body {"data": [{...}, ...]} and returns the
// records as offset pairs into body: record k is body[offs[2k]:offs[2k+1]],
// exactly the bytes uploaded. Other members are validated and ignored. It
// builds no values; the only allocation is offs. Every value is validated
// by jsonscan (UTF-8 included), keys here, so the whole body is checked in
// one pass.
func parseJobData(body []byte) ([]uint32, *bodyError) {
	s := scanner{b: body}
	s.ws()
	if s.i == len(body) {
		return nil, invalid("data", "is missing")
	}
	if body[s.i] != '{' {
		return nil, notObject(&s)
	}
	var (
		offs    = make([]uint32, 0, 2*min(maxRecords+1, len(body)/32+1))
		found   bool
		problem string // the first reason to refuse "data", if any
	)
	err := s.members(func(key []byte) error {
		if !utf8.Valid(key) {
			return &syntaxError{off: s.i, msg: "invalid UTF-8 in object key"}
		}
		if !keyIs(key, "data") {
			return s.value()
		}
		found, problem, offs = true, "", offs[:0]
		if body[s.i] != '[' {
			if err := s.value(); err != nil {
				return err
			}
			problem = "must be an array of JSON objects"
			return nil
		}
		n := 0
		return s.elements(func() error {
			start := s.i
			isObj := body[s.i] == '{'
			if err := s.value(); err != nil {
				return err
			}
			n++
			switch {
			case problem != "":
			case !isObj:
				problem = fmt.Sprintf("item %d is not a JSON object", n-1)
			case n > maxRecords:
				problem = fmt.Sprintf("has more than %d records", maxRecords)
			default:
				offs = append(offs, uint32(start), uint32(s.i))
			}
			return nil
		})
	})
	if err == nil {
		err = trailing(&s)
	}
	switch {
	case err != nil:
		return nil, malformed(err)
	case !found:
		return nil, invalid("data", "is missing")
	case problem != "":
		return nil, invalid("data", problem)
	case len(offs) == 0:
		return nil, invalid("data", "must not be empty")
	}
	return offs, nil
}
