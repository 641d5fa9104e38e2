package load

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bulkload/bulkload/manifest"
)

// The state directory holds, for job J:
//
//	J.lock                  the job's lock (see lockJob)
//	J/                      the manifest of a run (Run) or of a resume of uploads
//	J-upload-<fingerprint>/ the manifest of one Upload of one input into J
//	J-results-<key>/        the progress of one Results read (folder, format, mode)

// runDir is the state directory of job id's run.
func runDir(stateDir string, id int64) string {
	return filepath.Join(stateDir, strconv.FormatInt(id, 10))
}

// uploadDir is the state directory of one upload of an input into job id.
func uploadDir(stateDir string, id int64, fingerprint string) string {
	return filepath.Join(stateDir, fmt.Sprintf("%d-upload-%.12s", id, fingerprint))
}

// stateDir is Config.StateDir, created with mode 0700.
func (l *Loader) stateDir() (string, error) {
	dir := l.cfg.StateDir
	if dir == "" {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	return dir, nil
}

// sameJob refuses a saved state that is of another job than the server's
// job with its id: job ids repeat across servers, and an emulator starts
// again from 1. A state saved without a creation time passes.
func (o *op) sameJob(m *manifest.Manifest, dir string) error {
	if m.Run == nil {
		return nil
	}
	saved, now := m.Run.JobCreatedAt, createdAt(o.job)
	if saved != "" && now != "" && saved != now {
		return fmt.Errorf("the saved state in %s is of another job %d, created %s; the server's job %d was created %s (another server, or an emulator since restarted): it cannot be continued",
			dir, o.jobID, saved, o.jobID, now)
	}
	if b := m.Run.BaseURL; b != "" && b != o.client.BaseURL() {
		return fmt.Errorf("the saved state in %s is of job %d on %s, not on %s: it cannot be continued here", dir, o.jobID, b, o.client.BaseURL())
	}
	return nil
}

// setAside renames a state directory that belongs to another job with the
// same id, keeping it for a person to look at, and says so.
func (o *op) setAside(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	aside := fmt.Sprintf("%s.replaced-%s", dir, time.Now().UTC().Format("20060102T150405.000"))
	if err := os.Rename(dir, aside); err != nil {
		return fmt.Errorf("state directory %s holds another job's state and cannot be moved aside: %w", dir, err)
	}
	o.l.warn("%s held the saved run of another job %d (another server, or an emulator since restarted); moved it to %s", dir, o.jobID, aside)
	return nil
}

// Saved is a load of a job saved in a state directory, as Find and Status
// report it.
type Saved struct {
	Dir      string
	Manifest *manifest.Manifest
}

// Unfinished reports whether the saved load has more to do.
func (s Saved) Unfinished() bool {
	r := s.Manifest.Run
	if r == nil {
		return !s.Manifest.Upload.Complete
	}
	if r.Command == "upload" {
		return !s.Manifest.Upload.Complete
	}
	return !r.Finished
}

// SavedLoads lists the saved state of job id in stateDir: its run, its
// uploads and its results reads, the run first, then by directory name.
// A directory set aside (another job's) is not listed, nor one whose
// manifest is not written yet. A manifest that cannot be read (damaged,
// or of another format version) is left out too, and the error says so:
// the loads listed are then not all there are.
func SavedLoads(stateDir string, id int64) ([]Saved, error) {
	prefix := strconv.FormatInt(id, 10)
	entries, err := os.ReadDir(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	var out []Saved
	var damaged []error
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || strings.Contains(n, ".replaced-") || (n != prefix && !strings.HasPrefix(n, prefix+"-")) {
			continue
		}
		dir := filepath.Join(stateDir, n)
		m, err := manifest.Load(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			damaged = append(damaged, err)
			continue
		}
		out = append(out, Saved{Dir: dir, Manifest: m})
	}
	sort.SliceStable(out, func(i, j int) bool {
		return filepath.Base(out[i].Dir) == prefix && filepath.Base(out[j].Dir) != prefix
	})
	return out, errors.Join(damaged...)
}

// unfinishedRunOf finds a saved run, not finished, of this input (same
// size and fingerprint) against the same API: running it again would load
// every record a second time into a second job.
func (o *op) unfinishedRunOf(stateDir string, in manifest.Input) (*Saved, error) {
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		return nil, nil
	}
	var found *Saved
	var newest time.Time
	for _, e := range entries {
		if _, err := strconv.ParseInt(e.Name(), 10, 64); err != nil || !e.IsDir() {
			continue
		}
		dir := filepath.Join(stateDir, e.Name())
		m, err := manifest.Load(dir)
		if err != nil || m.Run == nil || m.Run.Command != "run" || m.Run.Finished {
			continue
		}
		if m.Run.BaseURL != o.set.BaseURL || m.Input.Fingerprint != in.Fingerprint || m.Input.Size != in.Size {
			continue
		}
		st, err := os.Stat(filepath.Join(dir, manifest.FileName))
		if err == nil && st.ModTime().After(newest) {
			newest = st.ModTime()
			found = &Saved{Dir: dir, Manifest: m}
		}
	}
	return found, nil
}

// resultsPrefix is the start of the names of this job's files in the
// results folder: the job id, or, when files of that name hold results of
// another job with the same id (another server, a restarted emulator), the
// id and the job's creation time (211-20261130T031500). Files are this
// job's when a saved state of this very job (same API, same created_at)
// names them; a file that is empty, or not a regular file, holds nothing
// to lose. The choice is made once and kept in the manifest, so a resume
// writes the same files.
func (o *op) resultsPrefix() string {
	if o.set.ResultsPrefix == "" {
		o.set.ResultsPrefix = o.choosePrefix()
	}
	return o.set.ResultsPrefix
}

func (o *op) choosePrefix() string {
	id := strconv.FormatInt(o.jobID, 10)
	cands := []string{id}
	if t, err := time.Parse(time.RFC3339Nano, o.set.JobCreatedAt); err == nil {
		cands = append(cands, id+"-"+t.UTC().Format("20060102T150405"))
	}
	for i := 2; i < 100; i++ {
		cands = append(cands, fmt.Sprintf("%s-%d", cands[1%len(cands)], i))
	}
	claimed := o.claimedPrefixes()
	for _, p := range cands {
		if claimed[p] || !o.holdsResults(p) {
			if p != id {
				o.l.warn("the results folder %s holds files of another job %d; this job's files are named %s-*", o.set.ResultsDir, o.jobID, p)
			}
			return p
		}
	}
	return id
}

// claimedPrefixes are the results prefixes that saved states of this job
// use in this results folder.
func (o *op) claimedPrefixes() map[string]bool {
	out := map[string]bool{}
	stateDir := o.l.cfg.StateDir
	if stateDir == "" {
		return out
	}
	saved, _ := SavedLoads(stateDir, o.jobID)
	for _, s := range saved {
		r := s.Manifest.Run
		if r == nil || r.ResultsPrefix == "" || r.ResultsDir != o.set.ResultsDir {
			continue
		}
		if r.JobCreatedAt == o.set.JobCreatedAt && (r.BaseURL == "" || r.BaseURL == o.set.BaseURL) {
			out[r.ResultsPrefix] = true
		}
	}
	return out
}

// holdsResults reports whether a file of this prefix holds anything: a
// regular file that is not empty.
func (o *op) holdsResults(prefix string) bool {
	for _, k := range []string{"success.jsonl", "errors.jsonl", "success.csv", "errors.csv", "rejects.jsonl", "rejects.csv"} {
		st, err := os.Stat(filepath.Join(o.set.ResultsDir, prefix+"-"+k))
		if err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			return true
		}
	}
	return false
}

// LastJob is the job whose saved run or upload in stateDir changed last:
// what `bulkload resume --last` continues.
func LastJob(stateDir string) (int64, error) {
	ids, err := savedJobs(stateDir, false)
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, fmt.Errorf("no saved runs in %s", stateDir)
	}
	return ids[0], nil
}

// SavedJobs lists the jobs that have saved loads in stateDir (runs,
// uploads, results reads), the most recently changed first: the jobs this
// machine can continue or report on. A missing stateDir has none.
func SavedJobs(stateDir string) ([]int64, error) {
	ids, err := savedJobs(stateDir, true)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return ids, err
}

func savedJobs(stateDir string, results bool) ([]int64, error) {
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	changed := map[int64]time.Time{}
	for _, e := range entries {
		name, _, _ := strings.Cut(e.Name(), "-upload-")
		if results {
			name, _, _ = strings.Cut(name, "-results-")
		}
		n, err := strconv.ParseInt(name, 10, 64)
		if err != nil || !e.IsDir() {
			continue
		}
		st, err := os.Stat(filepath.Join(stateDir, e.Name(), manifest.FileName))
		if err == nil && st.ModTime().After(changed[n]) {
			changed[n] = st.ModTime()
		}
	}
	ids := slices.Collect(maps.Keys(changed))
	slices.SortFunc(ids, func(a, b int64) int {
		return cmp.Or(changed[b].Compare(changed[a]), cmp.Compare(b, a))
	})
	return ids, nil
}

// DefaultStateDir is where bulkload keeps its state when not told:
// $XDG_STATE_HOME/bulkload, else $HOME/.local/state/bulkload. getenv reads
// the environment (os.Getenv).
func DefaultStateDir(getenv func(string) string) (string, error) {
	if x := getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "bulkload"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "bulkload"), nil
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "bulkload"), nil
	}
	return "", errors.New("no state directory: set --state-dir, XDG_STATE_HOME or HOME")
}
