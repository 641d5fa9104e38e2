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
// Batch.Hash (SHA-256 of the body) lets a resumed run check that the
// batches it skips are the ones it stored before.
package chunker
