package chunker

import "strconv"

// WarningKind classifies a Warning.
type WarningKind int

// The kinds of Warning.
const (
	// WarnLooseMatch: a header column matched a Config.Map entry, or a
	// field of Config.Type, only once case and surrounding spaces were
	// ignored (" Last_Name " taken as last_name).
	WarnLooseMatch WarningKind = iota + 1
	// WarnUnknownField: a field is not one Config.Type documents; the
	// message names the closest one that is, if any.
	WarnUnknownField
	// WarnNoUpsertKey: person/upsert records carry no upsert_key and
	// Config.UpsertKey is empty, so the API creates a new person for every
	// record and updates none.
	WarnNoUpsertKey
)

// Warning is something suspicious about the input that does not stop the
// load. Warnings go to Config.OnWarning, each once.
type Warning struct {
	Kind    WarningKind
	Source  string // Config.Source
	Line    int    // the line it is about, or 0 if none
	Field   string // the column or field it is about, or ""
	Message string // one line, without the source and line
}

// String formats w as "source:line: message" (no line if Line is 0).
func (w Warning) String() string {
	if w.Line > 0 {
		return w.Source + ":" + strconv.Itoa(w.Line) + ": " + w.Message
	}
	return w.Source + ": " + w.Message
}

// warn reports a warning once.
func (c *Chunker) warn(w Warning) {
	w.Source = c.cfg.Source
	key := w.String()
	if c.warned[key] {
		return
	}
	if c.warned == nil {
		c.warned = map[string]bool{}
	}
	c.warned[key] = true
	if c.cfg.OnWarning != nil {
		c.cfg.OnWarning(w)
	}
}
