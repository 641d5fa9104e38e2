// Package chunker turns a stream of records (JSON Lines, a JSON array, CSV
// or TSV, plain or gzip-compressed, of any size) into the request bodies of
// Salesloft's bulk job_data endpoint.
//
// # Batches
//
// A batch is one body, exactly {"data":[record,record,...]}, with at most
// Config.MaxRecords records (5,000, the API's limit, by default) and at most
// Config.MaxBatchBytes bytes (8 MiB by default). Records are taken in input
// order; a record that would break either cap starts the next batch. Pull
// batches with Next until it returns io.EOF:
//
//	c, err := chunker.Open("people.jsonl.gz", chunker.Config{})
//	...
//	defer c.Close()
//	for {
//		b, err := c.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err
//		}
//		upload(b.Body)
//	}
//
// Next does all the work in the calling goroutine; the chunker starts none.
// Memory is bounded by the caps, not by the input: one read buffer of about
// 1.25×MaxRecordBytes and the body being built. Each Body is a new slice
// that the chunker never touches again, so callers may hold several.
//
// # Records
//
// JSON input is not re-encoded: a JSON Lines record (a line, less
// surrounding whitespace and its "\n" or "\r\n") or an array element goes
// into the body byte for byte once it is validated. Validation accepts what
// encoding/json accepts and also requires valid UTF-8, so the server
// receives neither broken JSON nor text that would decode to U+FFFD. A
// record must be a JSON object of at most MaxRecordBytes (1 MiB by
// default). Blank lines are skipped, a UTF-8 byte order mark at the start is
// dropped, and the last line need not end in a newline.
//
// CSV and TSV rows are encoded: the header row names the fields, a dotted
// name (custom_fields.source) builds nested objects, every value is a JSON
// string (the chunker does not guess types: "00123" stays "00123"), and
// empty cells are left out. A row whose cells are all empty is skipped like
// a blank line, as spreadsheets export such rows. Quoting follows RFC 4180,
// as encoding/csv does: quoted fields may hold separators, quotes ("") and
// newlines.
//
// # Dialects
//
// Input is read as people export it. The format comes from Config.Format,
// else the name's extension, else the content: '[' starts a JSON array, '{'
// JSON Lines, and other text is CSV (so CSV on standard input or in a .txt
// needs no flag). A CSV's delimiter is Config.Delimiter, or else the one of
// ',', ';', tab and '|' its first rows use, counted outside quotes: the only
// one the header holds, or the only one every complete row among the first
// 20 holds as often as the header (a header holding none is one column);
// anything else fails with ErrDelimiter rather than guess.
//
// Text is UTF-8 unless Config.Encoding says windows-1252, iso-8859-1,
// utf-16le or utf-16be; it is converted to UTF-8 as it is read, and lines,
// columns and offsets are then those of the converted text. A byte order
// mark needs no setting: UTF-8's is dropped, UTF-16's selects UTF-16.
// Invalid UTF-8 with no Encoding set is reported where it is, with a hint
// to try windows-1252. CSV whose lines end in a lone CR (old Mac exports)
// is read as if they ended in LF; that is decided from the first line
// ending.
//
// What is not records is named in a one-line error wrapping ErrFormat: a
// zip archive such as an .xlsx workbook, an .xls workbook, binary or
// UTF-16 text without a byte order mark, and pretty-printed JSON objects.
// A JSON object that wraps the records as {"data":[...]} (a job_data body)
// is read as its array. (A Config.Format of FormatJSONL is taken at its
// word: such input is then read line by line.)
//
// # Mapping and pre-flight
//
// Config.Map renames, nests, drops and adds the fields of CSV records:
// "Email Address=email_address" (ParseMap) renames a column, a dotted
// target (Source=custom_fields.source) nests, "Notes=" drops the column,
// and a constant is a quoted value, as Salesforce Data Loader writes it
// (`"web"=custom_fields.source`), or ParseSet("custom_fields.source=web").
// ParseMapFile reads a file of such lines with # comments. Map columns
// match header names exactly, or else ignoring case and surrounding spaces
// (with a Warning). Map is for CSV and TSV: New fails with ErrMapping for
// JSON input, whose keys go out as written. Config.UpsertKey gives every
// record without an upsert_key that one, in any format. A header that
// starts with _line (a results or rejects CSV) loses its _line, _id,
// _status, _error, _resource_id and _upsert_type columns, so an errors
// file, fixed in a spreadsheet, loads as it is.
//
// With Config.Type set to a type package schema documents (person/upsert,
// calendar/events/upsert), records are checked before they cost an API
// call: a CSV header once, and each record (a CSV row, or a JSON object by
// its top-level members). Unknown fields are warned about with the closest
// known one ("Email Address": did you mean email_address?), and a header
// name equal to a known field but for case and surrounding spaces is taken
// as that field. A CSV header from which no record could get a required
// field fails New with ErrMapping. A record without what its type needs
// (person/upsert: one of id, crm_id and email_address, and the field its
// upsert_key names; calendar/events/upsert: id, i_cal_uid, start_time,
// end_time and calendar_id) is a bad record wrapping ErrMissingField or
// ErrUpsertKey, rejected like any other. No upsert_key at all is a
// WarnNoUpsertKey: the API then creates a person for every record and
// updates none.
//
// Warnings go to Config.OnWarning as data, each once; the chunker prints
// nothing.
//
// # Bad records
//
// A bad record (not an object, invalid JSON or UTF-8, too large, a CSV row
// with the wrong number of cells or broken quoting) is described by a
// *RecordError naming the source, line, column and, for CSV, row, and
// wrapping a reason such as ErrNotObject. By default (MaxRejects 0) Next
// returns it and the stream ends. With MaxRejects N the first N bad records
// are skipped and handed to OnReject with their bytes (for a rejects file),
// and the next makes Next fail with ErrTooManyRejects; -1 skips any number.
// A record larger than MaxRecordBytes is read past without being buffered,
// so a 50 GB line costs no memory. In a JSON array, a syntax error or a
// missing closing bracket ends the stream whatever MaxRejects says: the
// array's structure is lost at that point.
//
// When Next fails, the records it had gathered for the batch are dropped:
// the batches before a failure are exactly those of an input without it.
//
// # Determinism and resuming
//
// The same input and Config give the same batches, however the reader
// splits its data. Each batch records its Seq (0, 1, ...), the input byte
// range [Offset, End) and the lines it spans; the ranges tile the input.
// With Config.RecordLines each batch also lists the line on which each of
// its records starts (Batch.Lines), which is what ties a per-record result
// back to its row.
// Batch.Hash (SHA-256 of the body) lets a resumed run check that the
// batches it skips are the ones it stored before.
package chunker
