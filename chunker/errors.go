package chunker

import (
	"errors"
	"strconv"
)

// Reasons a record is bad. A *RecordError wraps one of them (possibly with
// detail: test with errors.Is).
var (
	ErrInvalidJSON    = errors.New("invalid JSON")
	ErrInvalidUTF8    = errors.New("invalid UTF-8")
	ErrNotObject      = errors.New("record is not a JSON object")
	ErrRecordTooLarge = errors.New("record too large")
	ErrFieldCount     = errors.New("wrong number of fields")
	ErrBareQuote      = errors.New(`bare " in non-quoted field`)
	ErrQuote          = errors.New(`extraneous or missing " in quoted field`)
	// ErrMissingField: a record lacks a field its Config.Type requires
	// (person/upsert: one of id, crm_id, email_address; the field its
	// upsert_key names; calendar/events/upsert: id, i_cal_uid,
	// start_time, end_time, calendar_id).
	ErrMissingField = errors.New("missing required field")
	// ErrUpsertKey: a record's upsert_key is not one its Config.Type
	// accepts.
	ErrUpsertKey = errors.New("invalid upsert_key")
)

// Errors that end the stream.
var (
	// ErrTooManyRejects: more than Config.MaxRejects records were bad. The
	// error also wraps the *RecordError of the record that went over.
	ErrTooManyRejects = errors.New("too many rejected records")
	// ErrHeader: a CSV header is empty, names a column twice, or names a
	// column both as a value and as an object (a and a.b).
	ErrHeader = errors.New("invalid CSV header")
	// ErrFormat: the format cannot be told from the source's name or its
	// first byte; a *RecordError wrapping it says where that byte is. Set
	// Config.Format to read the input anyway.
	ErrFormat = errors.New("cannot detect input format")
	// ErrDelimiter: the first lines of a CSV input do not tell which of
	// ',', ';', tab and '|' separates its fields. Set Config.Delimiter.
	ErrDelimiter = errors.New("cannot detect CSV delimiter")
	// ErrEncoding: a byte order mark contradicts Config.Encoding.
	ErrEncoding = errors.New("encoding mismatch")
	// ErrMapping: a Config.Map entry is malformed, names a column the
	// header lacks, or conflicts with another; or, with Config.Type, no
	// column or constant can give a field every record needs.
	ErrMapping = errors.New("invalid mapping")
)

// RecordError reports a bad record (or, for ErrHeader, ErrFormat and a
// broken JSON array, a bad stream) and where it is.
type RecordError struct {
	Source string // Config.Source
	Line   int    // 1-based line of the problem (for ErrRecordTooLarge, where the record starts)
	Column int    // 1-based byte column in that line
	Row    int    // CSV/TSV only: 1-based row as a spreadsheet numbers it (header 1, blank rows counted)
	Err    error  // the reason, wrapping one of the Err* sentinels
	// Fatal reports a fault that ends the input whatever MaxRejects says:
	// a bad header, an undetectable format, a JSON array cut short.
	Fatal bool
}

// Error formats e as "source:line:column: reason", like a compiler.
func (e *RecordError) Error() string {
	return e.Source + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column) + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *RecordError) Unwrap() error { return e.Err }

// Reject is a record skipped under Config.MaxRejects.
type Reject struct {
	Err *RecordError // where and why
	// Record is the record's bytes as read, without line ending. For
	// ErrRecordTooLarge it is only the first RejectPrefixBytes bytes and
	// Truncated is set.
	Record    []byte
	Truncated bool
}

// RejectPrefixBytes is how much of a too-large record a Reject keeps.
const RejectPrefixBytes = 1024

// detailError is a sentinel with detail: Error() is "sentinel: detail",
// errors.Is finds the sentinel.
type detailError struct {
	sentinel error
	detail   string
}

func (e *detailError) Error() string { return e.sentinel.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.sentinel }

func withDetail(sentinel error, detail string) error {
	return &detailError{sentinel: sentinel, detail: detail}
}
