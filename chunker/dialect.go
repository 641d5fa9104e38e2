package chunker

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/bulkload/bulkload/internal/jsonscan"
)

// Telling what the input is: JSON Lines, a JSON array, a {"data":[...]}
// wrapper or CSV, and a CSV's delimiter, from its first bytes and lines.

// sniff picks the format from the first non-space byte: '[' is a JSON
// array, '{' JSON Lines (jsonShape looks further), and text that is
// neither is CSV, unless the name says JSON.
func (c *Chunker) sniff() (Format, error) {
	in := c.in
	for i := in.pos; ; i++ {
		if i == in.end {
			k := i - in.pos
			if !in.fill() {
				if in.err != nil {
					return FormatAuto, c.readError()
				}
				return FormatJSONL, nil // empty: no records either way
			}
			i = in.pos + k
		}
		switch in.buf[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return FormatJSONArray, nil
		case '{':
			return FormatJSONL, nil
		}
		if jsonName(c.cfg.Source) {
			return FormatAuto, c.recordError(in.lineAt(i), in.column(i),
				withDetail(ErrFormat, "first byte "+quoteByte(in.buf[i])+" is neither '[' nor '{' (name the format with --format jsonl, json, csv or tsv)"))
		}
		if bad := c.notTextAt(i - in.pos); bad >= 0 {
			b := in.pos + bad
			detail := "byte " + quoteByte(in.buf[b]) + " on line " + strconv.Itoa(in.lineAt(b)) +
				" is not text, and the input does not start with '[' or '{'"
			if in.buf[b] == 0 {
				detail += " (UTF-16 without a byte order mark? set --encoding utf-16le or utf-16be)"
			}
			return FormatAuto, c.recordError(in.lineAt(b), in.column(b), withDetail(ErrFormat, detail))
		}
		return FormatCSV, nil
	}
}

// jsonName reports whether the file name says JSON (.json, or .json.gz),
// which content that is not JSON does not overrule.
func jsonName(path string) bool {
	return strings.HasSuffix(strings.TrimSuffix(strings.ToLower(path), ".gz"), ".json")
}

// notTextAt looks at the first 4 KiB from buf[pos+k] and returns the
// index, relative to pos, of the first byte that text such as a CSV file
// does not hold (a control character other than tab, CR, LF and form
// feed), or -1. Bytes that are not UTF-8 do not count: they are text in
// another encoding, which the CSV reader reports with a hint. It may read
// more input.
func (c *Chunker) notTextAt(k int) int {
	in := c.in
	for in.end-in.pos-k < 4096 && in.fill() {
	}
	for j, b := range in.buf[in.pos+k : min(in.end, in.pos+k+4096)] {
		if b < 0x20 && b != '\t' && b != '\r' && b != '\n' && b != '\f' {
			return k + j
		}
	}
	return -1
}

// jsonShape looks at input taken for JSON Lines by its name or content
// (not by Config.Format), when it starts with '{', for two shapes
// that are not JSON Lines: one object wrapping the records in an array,
// {"data":[...]}, which it reports (wrapped) so that the array is read; and
// objects spread over several lines (pretty-printed), which it refuses with
// an error that says so.
func (c *Chunker) jsonShape() (wrapped bool, err error) {
	in := c.in
	for in.end-in.pos < 64<<10 && in.fill() {
	}
	start := in.pos
	for start < in.end && isSpace(in.buf[start]) {
		start++
	}
	if start == in.end || in.buf[start] != '{' {
		return false, nil
	}
	data := in.buf[start:in.end]
	end, verr := jsonscan.Value(data)
	complete := verr == nil && (end < len(data) || in.eof)
	if open, ok := dataArray(data); ok {
		// A wrapper, unless it is the first of several such objects (JSON
		// Lines of request bodies are records too).
		rest := bytes.TrimLeft(data[min(end, len(data)):], " \t\r\n")
		if !complete || len(rest) == 0 {
			in.consume(start - in.pos + open + 1) // through the '['
			return true, nil
		}
	}
	if complete && bytes.IndexByte(data[:end], '\n') >= 0 {
		rest := bytes.TrimLeft(data[end:], " \t\r\n")
		lines := bytes.Count(data[:end], newline) + 1
		what := "a single JSON object spread over " + strconv.Itoa(lines) + " lines"
		if len(rest) > 0 {
			what = "JSON objects spread over several lines (pretty-printed)"
		}
		return false, c.recordError(in.lineAt(start), in.column(start), withDetail(ErrFormat,
			what+", not JSON Lines (one object per line) or a JSON array: put each record on one line (jq -c) or the records in an array"))
	}
	return false, nil
}

// dataArray reports whether data starts with {"data":[ (spaces allowed)
// and returns the index of the '['.
func dataArray(data []byte) (int, bool) {
	i := 0
	for _, tok := range []string{"{", `"data"`, ":", "["} {
		for i < len(data) && isSpace(data[i]) {
			i++
		}
		if !bytes.HasPrefix(data[i:], []byte(tok)) {
			return 0, false
		}
		i += len(tok)
	}
	return i - 1, true
}

// delimiters are the separators detectDelimiter chooses among.
const delimiters = ",;\t|"

func isDelimiter(r rune) bool { return r < 0x80 && strings.ContainsRune(delimiters, r) }

// ParseDelimiter returns the Config.Delimiter that s names: the character
// itself (",", ";", "|", a tab or `\t`) or its name ("comma", "semicolon",
// "tab", "pipe"), in any case. "" and "auto" are 0: detect it.
func ParseDelimiter(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return 0, nil
	case ",", "comma":
		return ',', nil
	case ";", "semicolon":
		return ';', nil
	case "\t", `\t`, "tab":
		return '\t', nil
	case "|", "pipe":
		return '|', nil
	}
	return 0, fmt.Errorf("chunker: unknown delimiter %q (want ',', ';', tab, '|' or auto)", s)
}

// detectDelimiter picks the CSV separator from the first rows (at most 20,
// in at most 64 KiB): counting each candidate outside quotes, a candidate
// the header holds is chosen if it is the only one there, or else the only
// one every complete row holds as often as the header. A header holding
// none is one column: ','. Anything else is ambiguous: ErrDelimiter.
func (c *Chunker) detectDelimiter() (byte, error) {
	in := c.in
	for in.end-in.pos < 64<<10 && in.fill() {
	}
	data := in.buf[in.pos:in.end]
	var rows [][4]int
	var cur [4]int
	quoted, blank := false, true
	for _, b := range data {
		if len(rows) == 20 {
			break
		}
		switch {
		case b == '"':
			quoted = !quoted
			blank = false
		case quoted:
		case b == '\n':
			if !blank {
				rows = append(rows, cur)
			}
			cur, blank = [4]int{}, true
		case b == '\r':
		default:
			blank = false
			if d := strings.IndexByte(delimiters, b); d >= 0 {
				cur[d]++
			}
		}
	}
	if !blank && in.eof && len(rows) < 20 {
		rows = append(rows, cur) // the last line, without '\n'
	}
	if len(rows) == 0 {
		return ',', nil
	}
	header := rows[0]
	var present, consistent []int
	for d := range 4 {
		if header[d] == 0 {
			continue
		}
		present = append(present, d)
		ok := len(rows) > 1
		for _, row := range rows[1:] {
			ok = ok && row[d] == header[d]
		}
		if ok {
			consistent = append(consistent, d)
		}
	}
	switch {
	case len(present) == 0:
		return ',', nil
	case len(present) == 1:
		return delimiters[present[0]], nil
	case len(consistent) == 1:
		return delimiters[consistent[0]], nil
	}
	var held []string
	for _, d := range present {
		held = append(held, fmt.Sprintf("%s (%d)", quoteByte(delimiters[d]), header[d]))
	}
	return 0, fmt.Errorf("chunker: %s: %w: the header holds %s and the first rows do not tell which separates fields; set it with --delimiter",
		c.cfg.Source, ErrDelimiter, strings.Join(held, ", "))
}
