package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Error is the error every Client method returns when a call fails: either
// the server answered with a non-2xx status, or the request failed in
// transport. Use [errors.As] to get it, and the Is* helpers to classify it.
type Error struct {
	Op         string              // what was attempted, such as "create job data"
	Method     string              // HTTP method
	Path       string              // request path, without the base URL or query
	StatusCode int                 // HTTP status; 0 when no response was received
	Message    string              // the server's {"error": "..."} text, if any
	Fields     map[string][]string // the server's {"errors": {...}} field errors, if any
	RateLimit  RateLimit           // rate-limit headers of the response, if any
	RetryAfter time.Duration       // the Retry-After header; 0 when absent
	// Sent reports whether the whole request, body included, was written
	// before the failure. A non-idempotent call that was sent and got no
	// definite answer may have taken effect: see IsAmbiguous.
	Sent bool
	Err  error // the transport error or body-decoding error, if any
}

// Error describes the failure in one line, such as
// "create job data: POST /v2/bulk_jobs/7/job_data: 422 Unprocessable Entity: state: job is not open".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
		if len(e.Fields) > 0 {
			keys := make([]string, 0, len(e.Fields))
			for k := range e.Fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for i, k := range keys {
				if i == 0 {
					b.WriteString(": ")
				} else {
					b.WriteString("; ")
				}
				fmt.Fprintf(&b, "%s: %s", k, strings.Join(e.Fields[k], ", "))
			}
		}
		if e.Err != nil {
			fmt.Fprintf(&b, " (%v)", e.Err)
		}
		return b.String()
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("request failed")
	}
	return b.String()
}

// Unwrap returns the underlying transport or decoding error, if any.
func (e *Error) Unwrap() error { return e.Err }

// RateLimit is what a response said about the team's rate-limit budget.
type RateLimit struct {
	// Cost is x-ratelimit-endpoint-cost: what the call cost (1 for every bulk
	// endpoint today; Salesloft may change it at any time).
	Cost int
	// Remaining is x-ratelimit-remaining-minute: the cost still available to
	// the whole team in the current minute.
	Remaining int
	// Known reports whether the response carried both headers; when false,
	// Cost and Remaining are zero and mean nothing.
	Known bool
}

// Response is what every call reports about the HTTP response it got, on
// success and on failure alike.
type Response struct {
	StatusCode int           // 0 when no response was received
	RateLimit  RateLimit     // the rate-limit headers
	RetryAfter time.Duration // the Retry-After header; 0 when absent
	Duration   time.Duration // time from sending the request to reading the body
}

// IsRateLimited reports whether err is a 429: the team's budget is spent.
// A 429 is never stored, so the call may be repeated after waiting.
func IsRateLimited(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests
}

// IsRetryable reports whether the failure is worth another attempt later:
// a 429, a 5xx, a 408, or a transport failure (connection refused, reset,
// DNS, timeout). Context cancellation by the caller and a certificate that
// fails verification are not retryable.
//
// Retryable does not mean safe to repeat blindly: for a call that is not
// idempotent (creating a job, uploading job data) check [IsAmbiguous] first.
func IsRetryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case e.StatusCode == 0:
		// A certificate the client cannot verify will not verify later.
		var unknown x509.UnknownAuthorityError
		var verify *tls.CertificateVerificationError
		var hostname x509.HostnameError
		var invalid x509.CertificateInvalidError
		if errors.As(e.Err, &unknown) || errors.As(e.Err, &verify) || errors.As(e.Err, &hostname) || errors.As(e.Err, &invalid) {
			return false
		}
		return !errors.Is(e.Err, context.Canceled)
	case e.StatusCode == http.StatusTooManyRequests,
		e.StatusCode == http.StatusRequestTimeout,
		e.StatusCode >= 500:
		return true
	}
	return false
}

// IsAmbiguous reports whether the call may have taken effect on the server
// although it failed: the whole request was sent and then no definite answer
// came back (a transport error, a timeout or cancellation after sending, or
// a 5xx). A 429 or 4xx answer is definite: nothing was done. For job data,
// an ambiguous upload must be reconciled with the server before it is sent
// again, or its records may be stored twice.
func IsAmbiguous(err error) bool {
	var e *Error
	if !errors.As(err, &e) || !e.Sent {
		return false
	}
	return e.StatusCode == 0 || e.StatusCode >= 500
}

// IsNotFound reports whether err is a 404: the job does not exist for this key.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports whether err is a 401: the API key is missing, wrong
// or revoked.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsJobNotOpen reports whether err is the 422 the API gives when job data or
// an update is sent to a job that is no longer open.
func IsJobNotOpen(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	_, ok := e.Fields["state"]
	return ok
}

func hasStatus(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == code
}
