package load

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/poller"
	"github.com/bulkload/bulkload/uploader"
)

// Config configures a Loader. The zero value of each field is its
// documented default; Client is required.
type Config struct {
	// Client makes every API call. Required, except by dry runs. Pace it
	// with a budget.Budget (api.Config.Budget) shared by everything that
	// calls the team's API.
	Client *api.Client
	// Budget, if set, is the client's budget; Stats reports what is left
	// of it. It paces nothing by itself.
	Budget *budget.Budget
	// StateDir is where manifests and job locks live. Empty: loads are not
	// resumable, take no lock and cannot be continued by another process;
	// only standard input works that way in the CLI.
	StateDir string
	// ResultsDir is where results and rejects files go. Default ".", but
	// for a Retry beside the first job's results when this machine saved
	// where they went.
	ResultsDir string
	// ResultsFormat is the results files' format: "jsonl" or "csv".
	// Default "jsonl", but for a Retry the first job's results' format.
	ResultsFormat string
	// ErrorsOnly reads only the results of records that failed. Each is
	// tied to its input line by content (join.Lookup): a line when its
	// record is on one line of the job's inputs, empty when it repeats on
	// others. The first error row sorts the job's index by content into a
	// file next to it (about 16 bytes per record, 16 MiB of memory), which
	// later reads of the job reuse.
	ErrorsOnly bool
	// Workers is how many uploads run in parallel. Zero sizes it to the
	// API: uploader.DefaultWorkers, or more (up to 16) when the latency of
	// the job calls times the budget's rate says fewer calls in flight
	// would leave the budget unused (Little's law).
	Workers int
	// ResendUnresolvable: see uploader.Config.ResendUnresolvable.
	ResendUnresolvable bool
	// Retry bounds the retries of the Loader's own calls (create, get,
	// mark ready). Zero: two minutes, but a few attempts only while the
	// server has never answered (a wrong base URL costs seconds).
	Retry budget.RetryPolicy
	// Logger, if set, receives the API calls and the uploader's and the
	// poller's reconciliations and sleeps. Nil: silent.
	Logger *slog.Logger
	// Notify, if set, receives what a person watching would want to know:
	// a job created, a read continued, a saved run set aside, a call
	// retried. It is called from the goroutine of the operation; it must
	// be quick. The Loader prints nothing itself.
	Notify func(Event)
}

// Event is a note for a person (Config.Notify).
type Event struct {
	Kind    EventKind
	Message string // one sentence, no trailing newline
}

// EventKind says how much an Event matters.
type EventKind int

// The kinds of Event.
const (
	// Info is progress worth a line: a job created, a read continued.
	Info EventKind = iota
	// Warning is something a person should act on or know even when
	// asking for quiet.
	Warning
	// Retry is a call that failed and will be tried again.
	Retry
	// Checked says the check pass has read the whole input and a job is
	// about to be created: Stats().Check holds the counts, for an estimate
	// of the cost (EstimateCost) before anything is spent.
	Checked
)

// Input is what to upload.
type Input struct {
	// Path is the file to read. With Reader set it only names the input
	// in messages (default "stdin").
	Path string
	// Reader, if set, is read instead of Path, once: such a load cannot be
	// resumed, and its records are checked as they are uploaded (only its
	// first batch is read before the job is created).
	Reader io.Reader
	// Format is a chunker format name ("jsonl", "json", "csv", "tsv");
	// empty: from the name, then the content.
	Format string
	// BatchSize is the records per upload call. Zero means 5,000.
	BatchSize int
	// MaxRejects is how many invalid records are skipped (written to the
	// rejects file) before the load fails; -1 means any number.
	MaxRejects int
	// Delimiter is the CSV separator (',', ';', '\t' or '|'); zero detects
	// it from the first lines.
	Delimiter rune
	// Encoding is the input's character encoding ("" UTF-8, or a byte
	// order mark's; see chunker.ParseEncoding).
	Encoding string
	// Map renames, drops and sets CSV columns (chunker.ParseMap, ParseSet,
	// ParseMapFile), in order.
	Map []chunker.MapEntry
	// UpsertKey is given as upsert_key to every record that lacks one.
	UpsertKey string

	linesOf string // Retry's: see manifest.Run.LinesOf
	// Retry's: the first job's results settings, used where Config left
	// them to their default.
	resultsDir, resultsFormat string
}

// Phase is the step an operation is at.
type Phase string

// The phases, in order.
const (
	PhaseCheck   Phase = "checking"  // reading the whole input once
	PhaseCreate  Phase = "creating"  // creating the job
	PhaseUpload  Phase = "uploading" // storing records
	PhaseReady   Phase = "ready"     // marking the job ready
	PhaseResults Phase = "results"   // reading results
	PhaseDone    Phase = "done"      // the operation returned
)

// Stats is a snapshot of an operation under way, for progress displays.
type Stats struct {
	Command string // "run", "resume", "upload", "results", ...
	Phase   Phase
	JobID   int64
	Source  string // the input's name
	// Check is the check pass's progress (PhaseCheck), then its result:
	// Check.Records is the number of valid records to upload, once known.
	Check chunker.Stats
	// Checked reports that Check covers the whole input.
	Checked bool
	Upload  uploader.Stats
	Poll    poller.Stats
	// BudgetRemaining is what is left of the team's budget as the last
	// response said; -1 when unknown.
	BudgetRemaining int64
	Elapsed         time.Duration
}

// Loader runs loads: one operation (Run, Resume, Upload, Results, Create,
// Ready) at a time. Its Stats may be read from any goroutine.
type Loader struct {
	cfg     Config
	running atomic.Bool
	cur     atomic.Pointer[op] // the operation under way, for Stats
	// Whether Config set ResultsDir and ResultsFormat (else a Retry takes
	// the first job's).
	dirGiven, formatGiven bool
}

// New checks cfg and returns a Loader.
func New(cfg Config) (*Loader, error) {
	switch {
	case cfg.Workers < 0 || cfg.Workers > 64:
		return nil, fmt.Errorf("load: Config.Workers %d: want 0..64", cfg.Workers)
	case cfg.ResultsFormat != "" && cfg.ResultsFormat != "jsonl" && cfg.ResultsFormat != "csv":
		return nil, fmt.Errorf("load: Config.ResultsFormat %q: want jsonl or csv", cfg.ResultsFormat)
	}
	l := &Loader{cfg: cfg, dirGiven: cfg.ResultsDir != "", formatGiven: cfg.ResultsFormat != ""}
	if cfg.ResultsDir == "" {
		l.cfg.ResultsDir = "."
	}
	if cfg.ResultsFormat == "" {
		l.cfg.ResultsFormat = "jsonl"
	}
	return l, nil
}

// Stats returns a snapshot of the operation under way, or of the last one.
func (l *Loader) Stats() Stats {
	o := l.cur.Load()
	if o == nil {
		return Stats{BudgetRemaining: -1}
	}
	return o.stats()
}

func (l *Loader) notify(kind EventKind, format string, args ...any) {
	if l.cfg.Notify != nil {
		l.cfg.Notify(Event{Kind: kind, Message: fmt.Sprintf(format, args...)})
	}
}

func (l *Loader) info(format string, args ...any) { l.notify(Info, format, args...) }
func (l *Loader) warn(format string, args ...any) { l.notify(Warning, format, args...) }

// start begins an operation of command on job id (0: none yet); the
// returned func ends it.
func (l *Loader) start(command string, id int64, dryRun bool) (*op, func(), error) {
	o := l.newOp(command)
	o.dryRun, o.rep.DryRun = dryRun, dryRun
	o.jobID, o.rep.JobID = id, id
	end, err := l.begin(o)
	return o, end, err
}

// begin marks an operation under way; the returned func ends it.
func (l *Loader) begin(o *op) (func(), error) {
	if l.cfg.Client == nil && !o.dryRun {
		return nil, errors.New("load: Config.Client is nil")
	}
	if !l.running.CompareAndSwap(false, true) {
		return nil, errors.New("load: an operation is already running on this Loader")
	}
	l.cur.Store(o)
	return func() { l.running.Store(false) }, nil
}

// ErrUnresolvable is the error of a load that stopped because uploads in
// doubt could not be told apart (an input that repeats records): nothing
// was stored twice. Config.ResendUnresolvable sends them again instead.
var ErrUnresolvable = uploader.ErrUnresolvable
