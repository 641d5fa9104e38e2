package apitest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const contentType = "application/json; charset=utf-8"

// exchange is one request being answered.
type exchange struct {
	e     *Emulator
	w     http.ResponseWriter
	r     *http.Request
	start time.Time
	team  *team // nil until authenticated

	cost      int // x-ratelimit-endpoint-cost
	remaining int // x-ratelimit-remaining-minute

	status  int   // answered status; 0 if the connection was reset
	fault   Fault // injected fault, if any
	records int   // records stored by a job_data POST
}

// write answers status with a JSON body and the headers every response
// carries.
func (x *exchange) write(status int, body []byte) {
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Ratelimit-Endpoint-Cost", strconv.Itoa(x.cost))
	h.Set("X-Ratelimit-Remaining-Minute", strconv.Itoa(x.remaining))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
	x.status = status
	x.e.stats.status(status)
}

// fail answers status with {"error": msg}, the shape of 401, 404 and 429
// (§7, §11) and of the emulator's other errors.
func (x *exchange) fail(status int, msg string) {
	b := append(make([]byte, 0, 16+len(msg)), `{"error":`...)
	b = appendString(b, msg)
	x.write(status, append(b, '}'))
}

// fieldError is one message of a 422.
type fieldError struct{ field, msg string }

// reject answers 422 with {"errors": {"field": ["msg", ...], ...}}, fields
// in sorted order.
func (x *exchange) reject(errs ...fieldError) {
	errs = slices.Clone(errs)
	slices.SortStableFunc(errs, func(a, b fieldError) int {
		switch {
		case a.field < b.field:
			return -1
		case a.field > b.field:
			return 1
		}
		return 0
	})
	b := []byte(`{"errors":{`)
	for i, fe := range errs {
		switch {
		case i == 0:
		case errs[i-1].field == fe.field:
			b[len(b)-1] = ',' // continue the field's array
			b = appendString(b, fe.msg)
			b = append(b, ']')
			continue
		default:
			b = append(b, ',')
		}
		b = appendString(b, fe.field)
		b = append(b, ":["...)
		b = appendString(b, fe.msg)
		b = append(b, ']')
	}
	x.write(http.StatusUnprocessableEntity, append(b, "}}"...))
}

// refuse answers a bodyError.
func (x *exchange) refuse(be *bodyError) {
	if be.status == http.StatusUnprocessableEntity {
		x.reject(fieldError{be.field, be.msg})
		return
	}
	x.fail(be.status, be.msg)
}

// retryAfter sets Retry-After to d in whole seconds, rounded up (at least
// 1), when Config.RetryAfter asks for it.
func (x *exchange) retryAfter(d time.Duration) {
	if !x.e.cfg.RetryAfter {
		return
	}
	secs := max((d+time.Second-1)/time.Second, 1)
	x.w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// timeLayout is the API's time stamp format: UTC with microseconds (§1.3).
const timeLayout = "2006-01-02T15:04:05.000000Z"

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, timeLayout)
	return append(dst, '"')
}

// appendJob renders a bulk job with all 14 fields in alphabetical order,
// as in the worked example (§2.1); unset times and a missing name are null.
func appendJob(b []byte, j *Job) []byte {
	b = append(b, `{"created_at":`...)
	b = appendTime(b, j.CreatedAt)
	b = append(b, `,"errors":`...)
	b = strconv.AppendInt(b, j.Errors, 10)
	b = append(b, `,"finished_at":`...)
	b = appendTime(b, j.FinishedAt)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, j.ID, 10)
	b = append(b, `,"marked_ready_at":`...)
	b = appendTime(b, j.MarkedReadyAt)
	b = append(b, `,"name":`...)
	if j.Name == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *j.Name)
	}
	b = append(b, `,"processed":`...)
	b = strconv.AppendInt(b, j.Processed, 10)
	b = append(b, `,"ready_to_execute":`...)
	b = strconv.AppendBool(b, j.ReadyToExecute)
	b = append(b, `,"scopes":[],"started_at":`...)
	b = appendTime(b, j.StartedAt)
	b = append(b, `,"state":`...)
	b = appendString(b, j.State)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, j.Total, 10)
	b = append(b, `,"type":`...)
	b = appendString(b, j.Type)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, j.UpdatedAt)
	return append(b, '}')
}

// rowView is a record copied out under the lock for rendering.
type rowView struct {
	id     int64
	status rowStatus
	code   outcome
	rid    int64
	record []byte // immutable once stored
}

// appendRow renders a job-data row: id, status, record (byte for byte as
// uploaded), resource (null unless success), error (null unless error).
func appendRow(b []byte, k kind, r *rowView) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, r.id, 10)
	b = append(b, `,"status":"`...)
	b = append(b, statusNames[r.status]...)
	b = append(b, `","record":`...)
	b = append(b, r.record...)
	b = append(b, `,"resource":`...)
	if r.status == rsSuccess {
		b = appendResource(b, k, r.code, r.rid, r.record)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"error":`...)
	if r.status == rsError {
		b = appendString(b, r.code.message())
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}
