package chunker

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bulkload/bulkload/schema"
)

// Format is the layout of the input.
type Format int

// The input formats.
const (
	// FormatAuto picks the format from Config.Source's extension (see
	// FormatFromPath) and, when that does not decide, from the first byte of
	// the (decompressed) content: '[' is a JSON array, '{' is JSON Lines,
	// and other text is CSV (its delimiter detected), unless the name ends
	// in .json.
	FormatAuto Format = iota
	// FormatJSONL is JSON Lines: one JSON object per line.
	FormatJSONL
	// FormatJSONArray is one top-level JSON array of objects.
	FormatJSONArray
	// FormatCSV is comma-separated values with a header row (RFC 4180).
	FormatCSV
	// FormatTSV is tab-separated values with a header row, quoted like CSV.
	FormatTSV
)

var formatNames = [...]string{"auto", "jsonl", "json", "csv", "tsv"}

// String returns the name ParseFormat accepts for f.
func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat returns the Format named s: "auto", "jsonl" (or "ndjson"),
// "json" (or "array": a top-level JSON array), "csv" or "tsv", in any case.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "auto", "":
		return FormatAuto, nil
	case "jsonl", "ndjson":
		return FormatJSONL, nil
	case "json", "array":
		return FormatJSONArray, nil
	case "csv":
		return FormatCSV, nil
	case "tsv":
		return FormatTSV, nil
	}
	return FormatAuto, fmt.Errorf("chunker: unknown format %q (want auto, jsonl, json, csv or tsv)", s)
}

// FormatFromPath returns the format a file name implies, ignoring a final
// ".gz": .jsonl, .ndjson and .jsonlines are FormatJSONL, .csv is FormatCSV,
// .tsv and .tab are FormatTSV. Anything else, .json included, is FormatAuto:
// files named .json are as often JSON Lines as arrays, so their first byte
// decides.
func FormatFromPath(path string) Format {
	name := strings.ToLower(filepath.Base(path))
	name = strings.TrimSuffix(name, ".gz")
	switch filepath.Ext(name) {
	case ".jsonl", ".ndjson", ".jsonlines":
		return FormatJSONL
	case ".csv":
		return FormatCSV
	case ".tsv", ".tab":
		return FormatTSV
	}
	return FormatAuto
}

// Limits and defaults.
const (
	// MaxRecordsLimit is the most records a Salesloft job_data call accepts,
	// and so the most a batch may hold.
	MaxRecordsLimit = 5000

	// DefaultMaxBatchBytes is the body size cap when Config.MaxBatchBytes is
	// zero. The API documents no size limit; 8 MiB holds 5,000 records of up
	// to ~1.6 KB (a person record is ~300 bytes, so batches are normally cut
	// by count, at ~1.5 MB), while keeping the memory of an uploader that
	// holds a few batches in flight, and the cost of resending one, small.
	DefaultMaxBatchBytes = 8 << 20

	// DefaultMaxRecordBytes is the record size cap when
	// Config.MaxRecordBytes is zero: far above any real CRM record, and what
	// bounds the chunker's read buffer.
	DefaultMaxRecordBytes = 1 << 20

	// bodyOverhead is len(`{"data":[`) + len(`]}`).
	bodyOverhead = len(bodyPrefix) + len(bodySuffix)
	bodyPrefix   = `{"data":[`
	bodySuffix   = `]}`
)

// Config configures a Chunker. The zero value is usable: JSON Lines or an
// array picked by content, batches of up to 5,000 records and 8 MiB, records
// of up to 1 MiB, and Next fails at the first bad record.
type Config struct {
	// Source names the input in errors and rejects, e.g. a file path or
	// "stdin"; empty means "input". Its extension also picks the format when
	// Format is FormatAuto.
	Source string

	// Format is the input's format. Zero (FormatAuto) picks it from Source's
	// extension, then from the content.
	Format Format

	// MaxRecords is the most records per batch. Zero means 5,000
	// (MaxRecordsLimit); more than that is an error from New.
	MaxRecords int

	// MaxBatchBytes caps len(Batch.Body). Zero means DefaultMaxBatchBytes
	// (8 MiB). It must leave room for one record of MaxRecordBytes.
	MaxBatchBytes int

	// MaxRecordBytes is the largest record accepted: for JSON Lines the
	// line without its line ending, for a JSON array the element, for CSV
	// both the row as read and its JSON encoding. A larger record is
	// rejected with ErrRecordTooLarge and read past without being
	// buffered. Zero means DefaultMaxRecordBytes (1 MiB), or less if
	// MaxBatchBytes is smaller.
	MaxRecordBytes int

	// MaxRejects says what a bad record does. 0 (the default): Next returns
	// its *RecordError and the chunker stops. N > 0: up to N bad records are
	// skipped and handed to OnReject; the next one makes Next fail with
	// ErrTooManyRejects (wrapping its *RecordError; it is not handed to
	// OnReject). -1: any number are skipped.
	MaxRejects int

	// OnReject, if set, is called synchronously from Next with each record
	// skipped under MaxRejects. Reject.Record is the callee's to keep.
	OnReject func(Reject)

	// Delimiter is the CSV separator. Zero means: a tab for FormatTSV; for
	// FormatCSV, the one of ',', ';', '\t' and '|' that the first lines
	// use (see the package doc, "Dialects"), or ErrDelimiter if they do
	// not tell. It must be one of those four.
	Delimiter rune

	// Encoding is the character encoding of the (decompressed) input: ""
	// (the default) or "utf-8", "windows-1252", "iso-8859-1", "utf-16le"
	// or "utf-16be" (see ParseEncoding for the other names accepted).
	// Input in another encoding is converted to UTF-8 as it is read. A
	// byte order mark at the start is honoured when Encoding is "": it
	// selects UTF-8 or UTF-16, and it is an error if it contradicts a set
	// Encoding.
	Encoding string

	// Map renames, drops and adds the fields of CSV records (see MapEntry,
	// ParseMap, ParseSet and ParseMapFile). Entries for a column apply to
	// the header's column of that name, matched exactly or else ignoring
	// case and surrounding spaces (with a Warning); an entry whose column
	// is not in the header is an error from New. Map applies to CSV and
	// TSV only: New fails if it is set for JSON input.
	Map []MapEntry

	// UpsertKey, if set, is the upsert_key given to every record that
	// lacks one (an empty CSV cell, or a JSON null or "", counts as
	// lacking). With a Type that documents upsert keys it must be one of
	// them (person/upsert: id, crm_id or email_address). It applies to
	// every format; JSON records then cost a walk of their top-level
	// members.
	UpsertKey string

	// Type is the bulk job type the records are for, e.g. "person/upsert".
	// If package schema documents it, records are checked before they are
	// sent: unknown top-level fields are warned about (with the closest
	// known field), a CSV header that cannot give a required field is an
	// error from New, and a record lacking what its type requires is a
	// bad record (ErrMissingField, ErrUpsertKey), rejected under
	// MaxRejects like any other. For CSV the checks cost a few tests per
	// row; JSON records cost a walk of their top-level members. Empty or
	// undocumented: nothing is checked.
	Type string

	// OnWarning, if set, is called synchronously from New and Next with
	// each Warning: something suspicious that does not stop the load
	// (a header matched loosely, an unknown field, no upsert_key). Each is
	// reported once. The chunker prints nothing itself.
	OnWarning func(Warning)

	// RecordLines makes each Batch carry Lines, the line on which each of
	// its records starts. Off (the default), Lines is nil and the chunker
	// spends nothing on it.
	RecordLines bool
}

// withDefaults checks cfg and fills in its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Format < FormatAuto || cfg.Format > FormatTSV {
		return cfg, fmt.Errorf("chunker: invalid Format %d", int(cfg.Format))
	}
	if cfg.MaxRecords == 0 {
		cfg.MaxRecords = MaxRecordsLimit
	}
	if cfg.MaxRecords < 0 || cfg.MaxRecords > MaxRecordsLimit {
		return cfg, fmt.Errorf("chunker: MaxRecords %d outside 1..%d", cfg.MaxRecords, MaxRecordsLimit)
	}
	if cfg.MaxBatchBytes == 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if cfg.MaxRecordBytes == 0 {
		cfg.MaxRecordBytes = min(DefaultMaxRecordBytes, cfg.MaxBatchBytes-bodyOverhead)
	}
	if cfg.MaxRecordBytes < 2 {
		return cfg, fmt.Errorf("chunker: MaxRecordBytes %d is below 2 (the size of {})", cfg.MaxRecordBytes)
	}
	if cfg.MaxBatchBytes < cfg.MaxRecordBytes+bodyOverhead {
		return cfg, fmt.Errorf("chunker: MaxBatchBytes %d cannot hold a record of MaxRecordBytes %d plus %d bytes of envelope",
			cfg.MaxBatchBytes, cfg.MaxRecordBytes, bodyOverhead)
	}
	if cfg.Delimiter != 0 && !isDelimiter(cfg.Delimiter) {
		return cfg, fmt.Errorf("chunker: Delimiter %q (want ',', ';', '\\t' or '|')", cfg.Delimiter)
	}
	if cfg.Encoding != "" {
		name, err := ParseEncoding(cfg.Encoding)
		if err != nil {
			return cfg, err
		}
		cfg.Encoding = name
	}
	if t, ok := schema.Lookup(cfg.Type); ok && cfg.UpsertKey != "" && len(t.UpsertKeys) > 0 && !t.ValidUpsertKey(cfg.UpsertKey) {
		return cfg, fmt.Errorf("chunker: UpsertKey %q: %s takes %s", cfg.UpsertKey, t.Name, strings.Join(t.UpsertKeys, ", "))
	}
	if cfg.MaxRejects < -1 {
		return cfg, fmt.Errorf("chunker: MaxRejects %d (want -1, 0 or a positive limit)", cfg.MaxRejects)
	}
	return cfg, nil
}
