// Package manifest is the durable record of one upload: which bulk job it
// fills, which input it reads and how that input is cut into batches, which
// batches the job already holds and which may have been sent without an
// answer. It is what lets an interrupted upload (Ctrl-C, a crash, kill -9)
// be resumed into the same job without storing any record twice.
//
// # The model
//
// A Manifest lives as one small JSON file, [FileName], in a state directory.
// [Manifest.Save] replaces it atomically: the new content is written to a
// temporary file in the same directory, flushed to disk (fsync), renamed over
// the old file, and the directory is flushed too. A crash at any instant
// therefore leaves either the old or the new manifest, never a mix. Files
// are created with mode 0600 and the directory with 0700: a manifest names
// the input and the job, which may be private.
//
// The upload state ([Upload]) is kept small enough to be rewritten after
// every acknowledged batch: the batches stored so far are a contiguous
// prefix (every Seq below AckedBelow), summarised by a chained digest of
// their hashes, plus the few batches stored out of order beyond it. A job of
// ten million records in 2,000 batches still has a manifest of a few
// kilobytes. Package uploader reads and writes Upload; other fields belong to
// whoever embeds the library (the CLI keeps its input path, job type, flags
// and the poller's cursor here).
//
// A manifest made for one input must not be resumed with another:
// [Manifest.Check] compares the input's size and [Fingerprint] and the
// chunking settings, and refuses a mismatch with an error that wraps
// [ErrMismatch] and says what differs.
//
// A Manifest is a plain value; it is not safe for concurrent use. Use
// [Manifest.Clone] to hand a copy to another goroutine.
package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Version is the format version this package writes. Load refuses others.
const Version = 1

// FileName is the manifest's file name inside its state directory.
const FileName = "manifest.json"

// ErrMismatch is wrapped by the errors of Check (and of package uploader)
// when a manifest does not belong to the input, settings or job at hand.
var ErrMismatch = errors.New("the manifest does not match")

// Manifest is the durable state of one upload. The zero value is an empty
// manifest of no job; set JobID, Input and Chunking before the first Save.
type Manifest struct {
	Version  int      `json:"version"`            // format version; Save sets it
	JobID    int64    `json:"job_id"`             // the bulk job being filled
	JobType  string   `json:"job_type,omitempty"` // such as "person/upsert"
	Input    Input    `json:"input"`              // what is uploaded
	Chunking Chunking `json:"chunking"`           // how it is cut into batches
	Upload   Upload   `json:"upload"`             // the uploader's progress
	Poll     Poll     `json:"poll"`               // the poller's progress
	// Run is what package load keeps about the whole load (how it was
	// started, where its results go, how far it got); nil in manifests
	// written by other programs.
	Run *Run `json:"run,omitempty"`
	// Extra holds anything else the embedding program wants to keep. Nil
	// means none.
	Extra map[string]string `json:"extra,omitempty"`
}

// Input identifies the uploaded input. Check compares Size, Fingerprint
// and Format; Path and ModTime are kept for messages (a file may be moved or
// touched without changing).
type Input struct {
	Path        string    `json:"path,omitempty"`
	Size        int64     `json:"size"`
	ModTime     time.Time `json:"mod_time,omitzero"`
	Fingerprint string    `json:"fingerprint"` // see Fingerprint
	Format      string    `json:"format,omitempty"`
}

// Chunking is the chunker settings that decide where batches are cut.
// Every field takes part in Check: other settings give other batches.
type Chunking struct {
	MaxRecords    int   `json:"max_records"`
	MaxBatchBytes int64 `json:"max_batch_bytes"`
	// Options holds any further setting that changes the batches.
	Options map[string]string `json:"options,omitempty"`
}

// Upload is the uploader's progress through the input. Package uploader
// maintains it; its fields are exported so that it can be saved and shown.
type Upload struct {
	// BaseTotal is the job's record total before the first batch of this
	// upload was sent: records the upload did not put there.
	BaseTotal int64 `json:"base_total"`
	// Started reports whether BaseTotal was measured.
	Started bool `json:"started"`
	// AckedBelow: every batch with Seq < AckedBelow is stored in the job.
	AckedBelow int `json:"acked_below"`
	// PrefixDigest is the hex chained digest of the hashes of the batches
	// below AckedBelow, so that a resumed upload proves it re-read the same
	// batches; empty while the prefix is empty.
	PrefixDigest string `json:"prefix_digest,omitempty"`
	// Acked are the batches with Seq >= AckedBelow known to be stored.
	Acked []Batch `json:"acked,omitempty"`
	// AckedRecords counts the records of every stored batch.
	AckedRecords int64 `json:"acked_records"`
	// Duplicates counts records stored twice on purpose: of batches in
	// doubt that could not be told apart and were sent again (see the
	// uploader's Config.ResendUnresolvable), those the job already held.
	Duplicates int64 `json:"duplicates,omitempty"`
	// SentBelow: no batch with Seq >= SentBelow was ever sent. A batch
	// below it that is not stored may have been: it is in doubt.
	SentBelow int `json:"sent_below"`
	// Sent are batches sent but not known to be stored, with their hashes
	// as far as known when the manifest was saved.
	Sent []Batch `json:"sent,omitempty"`
	// Recent are the Seqs of stored batches whose records may have been
	// stored after those of a batch in doubt; reconciliation needs them.
	Recent []int `json:"recent,omitempty"`
	// Anchor is a job-data id such that exactly AnchorRecords of the job's
	// records have an id <= Anchor; reconciliation lists from there.
	Anchor        int64 `json:"anchor"`
	AnchorRecords int64 `json:"anchor_records"`
	// Complete reports that the whole input is stored: Batches batches,
	// AckedRecords records.
	Complete bool `json:"complete"`
	Batches  int  `json:"batches,omitempty"`
}

// Batch is one batch in the manifest: its sequence number, record count and
// hex SHA-256 of its body.
type Batch struct {
	Seq     int    `json:"seq"`
	Records int    `json:"records"`
	Hash    string `json:"hash,omitempty"`
}

// Poll is the poller's progress: it has handed over every result up to
// and including id Cursor.
type Poll struct {
	Cursor  int64 `json:"cursor,omitempty"`
	Results int64 `json:"results,omitempty"`
	Done    bool  `json:"done,omitempty"`
}

// Run is the state of one load (package load) beyond the upload itself:
// what a resume needs to continue alike, and what proves that the job on
// the server is the one this manifest was made for.
type Run struct {
	// Command is what started the state: "run" (create, upload, ready,
	// results), "upload" (into an existing job, left open) or "results".
	Command string `json:"command"`
	// BaseURL is the API the job lives on; JobCreatedAt its created_at as
	// that API gave it (RFC 3339). Job ids repeat across servers, so the
	// two together tell this job from another with the same id.
	BaseURL      string `json:"base_url,omitempty"`
	JobCreatedAt string `json:"job_created_at,omitempty"`
	// Input is the absolute path of the input; empty for standard input.
	Input string `json:"input,omitempty"`
	// The chunking settings as given (MaxRejects -1: no limit).
	Format     string `json:"format,omitempty"`
	BatchSize  int    `json:"batch_size,omitempty"`
	MaxRejects int    `json:"max_rejects,omitempty"`
	// The dialect and mapping settings (package chunker): the CSV
	// delimiter ("" detected), the encoding, the column mapping in order,
	// the upsert key given to records lacking one, and the job type whose
	// fields are checked before upload.
	Delimiter string     `json:"delimiter,omitempty"`
	Encoding  string     `json:"encoding,omitempty"`
	Map       []MapEntry `json:"map,omitempty"`
	UpsertKey string     `json:"upsert_key,omitempty"`
	Type      string     `json:"type,omitempty"`
	// JoinState is the state of the tie of results to input lines (package
	// join) as of Poll.Cursor.
	JoinState []byte `json:"join_state,omitempty"`
	// LinesOf, for a run of another job's failures (a retry), is the file
	// that gives each line of the input the file and line its record came
	// from in the first job's input, so that results name those.
	LinesOf string `json:"lines_of,omitempty"`
	// What the check pass found, for the report of a resume that no longer
	// reads the input: body bytes and records rejected.
	Bytes    int64 `json:"bytes,omitempty"`
	Rejected int64 `json:"rejected,omitempty"`
	// Results settings.
	ResultsDir    string `json:"results_dir,omitempty"`
	ResultsFormat string `json:"results_format,omitempty"`
	ErrorsOnly    bool   `json:"errors_only,omitempty"`
	NoWait        bool   `json:"no_wait,omitempty"`
	Workers       int    `json:"workers,omitempty"`
	// ResultsPrefix starts the names of the job's files in ResultsDir
	// (<prefix>-success.jsonl, ...): the job id, unless files of that name
	// belong to another job with the same id.
	ResultsPrefix string `json:"results_prefix,omitempty"`
	// The results files' sizes as of Poll.Cursor.
	SuccessOffset int64 `json:"success_offset,omitempty"`
	ErrorsOffset  int64 `json:"errors_offset,omitempty"`
	// Ready reports that the job was marked ready to execute.
	Ready bool `json:"ready,omitempty"`
	// Finished reports that the load did all it was asked: uploaded, and
	// for a run marked ready and (unless NoWait) every result read.
	Finished bool `json:"finished,omitempty"`
}

// MapEntry is one entry of a column mapping, as chunker.MapEntry.
type MapEntry struct {
	Column string `json:"column,omitempty"`
	Field  string `json:"field,omitempty"`
	Value  string `json:"value,omitempty"`
}

// IsAcked reports whether batch seq is recorded as stored.
func (u *Upload) IsAcked(seq int) bool {
	if seq < u.AckedBelow {
		return true
	}
	return slices.ContainsFunc(u.Acked, func(b Batch) bool { return b.Seq == seq })
}

// Clone returns a deep copy of m.
func (m *Manifest) Clone() *Manifest {
	c := *m
	c.Chunking.Options = maps.Clone(m.Chunking.Options)
	c.Extra = maps.Clone(m.Extra)
	c.Upload.Acked = slices.Clone(m.Upload.Acked)
	c.Upload.Sent = slices.Clone(m.Upload.Sent)
	c.Upload.Recent = slices.Clone(m.Upload.Recent)
	if m.Run != nil {
		r := *m.Run
		r.Map = slices.Clone(m.Run.Map)
		r.JoinState = slices.Clone(m.Run.JoinState)
		c.Run = &r
	}
	return &c
}

// Check reports whether m was made for this input and these chunking
// settings. A difference is an error wrapping ErrMismatch that names every
// field that differs, with both values.
func (m *Manifest) Check(in Input, ch Chunking) error {
	var diffs []string
	differ := func(what string, have, want any) {
		diffs = append(diffs, fmt.Sprintf("%s is %v, the manifest has %v", what, want, have))
	}
	if m.Input.Size != in.Size {
		differ("input size", m.Input.Size, in.Size)
	}
	if m.Input.Fingerprint != in.Fingerprint {
		differ("input fingerprint", short(m.Input.Fingerprint), short(in.Fingerprint))
	}
	if m.Input.Format != in.Format {
		differ("input format", q(m.Input.Format), q(in.Format))
	}
	if m.Chunking.MaxRecords != ch.MaxRecords {
		differ("records per batch", m.Chunking.MaxRecords, ch.MaxRecords)
	}
	if m.Chunking.MaxBatchBytes != ch.MaxBatchBytes {
		differ("bytes per batch", m.Chunking.MaxBatchBytes, ch.MaxBatchBytes)
	}
	for _, k := range slices.Sorted(maps.Keys(joinKeys(m.Chunking.Options, ch.Options))) {
		if m.Chunking.Options[k] != ch.Options[k] {
			differ("chunking option "+k, q(m.Chunking.Options[k]), q(ch.Options[k]))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	what := "this input"
	if m.Input.Path != "" {
		what = m.Input.Path
	}
	msg := fmt.Sprintf("%v for job %d (made for %s): ", ErrMismatch, m.JobID, what)
	for i, d := range diffs {
		if i > 0 {
			msg += "; "
		}
		msg += d
	}
	return &mismatchError{msg: msg}
}

type mismatchError struct{ msg string }

func (e *mismatchError) Error() string { return e.msg }
func (e *mismatchError) Unwrap() error { return ErrMismatch }

func joinKeys(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, b)
	return out
}

func q(s string) string { return fmt.Sprintf("%q", s) }

func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12] + "…"
	}
	return q(fp)
}

// Save writes m durably to dir/FileName, creating dir (mode 0700) if
// needed: it writes a temporary file (mode 0600), flushes it, renames it
// over the old manifest and flushes the directory. A crash at any point
// leaves the old or the new manifest whole. Save sets m.Version.
func (m *Manifest) Save(dir string) error {
	m.Version = Version
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: encoding: %w", err)
	}
	data = append(data, '\n')
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".manifest-*.tmp")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("manifest: writing: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("manifest: flushing: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, FileName)); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("manifest: flushing the directory: %w", err)
	}
	return nil
}

// Load reads dir/FileName. When there is none the error wraps
// fs.ErrNotExist, so a caller can start afresh on errors.Is(err,
// fs.ErrNotExist).
func Load(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("manifest: no manifest in %s: %w", dir, err)
		}
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest: %s is damaged: %w", filepath.Join(dir, FileName), err)
	}
	if m.Version != Version {
		return nil, fmt.Errorf("manifest: %s has format version %d; this program reads version %d",
			filepath.Join(dir, FileName), m.Version, Version)
	}
	m.migrate()
	return &m, nil
}

// migrate moves the keys that bulkload before the Run field kept in Extra
// into Run, so that a run saved by an older version can be resumed.
func (m *Manifest) migrate() {
	x := m.Extra
	if m.Run != nil || x["command"] == "" {
		return
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(x[k], 10, 64); return n }
	m.Run = &Run{
		Command: x["command"], JobCreatedAt: x["job_created_at"], Input: x["input"],
		Format: x["format"], BatchSize: int(num("batch_size")), MaxRejects: int(num("max_rejects")),
		Bytes: num("bytes"), Rejected: num("rejected"),
		ResultsDir: x["results_dir"], ResultsFormat: x["results_format"], ErrorsOnly: x["errors_only"] == "true",
		Workers: int(num("workers")), SuccessOffset: num("success_offset"), ErrorsOffset: num("errors_offset"),
		Ready: x["ready"] == "true",
	}
	if x["results_dir"] != "" {
		m.Run.ResultsPrefix = strconv.FormatInt(m.JobID, 10) // the only name it wrote
	}
	for _, k := range []string{"command", "job_created_at", "input", "format", "batch_size", "max_rejects", "bytes",
		"rejected", "results_dir", "results_format", "errors_only", "workers", "success_offset", "errors_offset", "ready"} {
		delete(x, k)
	}
	if len(x) == 0 {
		m.Extra = nil
	}
}
