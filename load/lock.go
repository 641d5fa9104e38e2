package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gofrs/flock"
)

// ErrLocked is wrapped by the error of an operation that found its job in
// use by another process (see LockedError).
var ErrLocked = errors.New("the job is in use")

// LockedError says who holds a job's lock: an operation that writes records
// into a job, or its results files, holds it from start to end, and a
// second one fails at once with this error, having sent nothing.
type LockedError struct {
	JobID   int64
	Holder  Holder // as the holder wrote it; zero fields when unreadable
	LockDir string // the state directory holding the lock
}

func (e *LockedError) Error() string {
	h := e.Holder
	who := "another process"
	if h.PID != 0 {
		who = fmt.Sprintf("PID %d on %s", h.PID, h.Host)
	}
	since := ""
	if !h.Since.IsZero() {
		since = fmt.Sprintf(" since %s (%s ago)", h.Since.Local().Format(time.DateTime), time.Since(h.Since).Round(time.Second))
	}
	what := ""
	if h.Command != "" {
		what = fmt.Sprintf(" (%s)", h.Command)
	}
	return fmt.Sprintf("job %d is in use by %s%s%s: wait for it to end or stop it; nothing was sent", e.JobID, who, what, since)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Holder describes the process holding a job's lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Since   time.Time `json:"since"`
	Command string    `json:"command,omitempty"`
}

// jobLock is an OS file lock (flock) on <state dir>/<job id>.lock. The
// kernel releases it when its process ends, kill -9 included, so a lock
// never outlives its holder and never has to be removed by hand. The
// file stays in place (removing a lock file while another process waits
// on it would let two hold "the" lock); it holds the holder's description.
type jobLock struct {
	fl *flock.Flock
}

// lockJob takes job id's lock in stateDir or fails at once with a
// *LockedError.
func lockJob(stateDir string, id int64, command string) (*jobLock, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(stateDir, strconv.FormatInt(id, 10)+".lock")
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking job %d (%s): %w", id, path, err)
	}
	if !ok {
		var h Holder
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &h) // a torn description still refuses
		}
		return nil, &LockedError{JobID: id, Holder: h, LockDir: stateDir}
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, Since: time.Now().UTC(), Command: command})
	// The description is for messages only: a failure to write it does
	// not weaken the lock.
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
		f.Write(b)
		f.Close()
	}
	return &jobLock{fl: fl}, nil
}

// unlock releases the lock; nil-safe.
func (l *jobLock) unlock() {
	if l != nil && l.fl != nil {
		l.fl.Unlock()
	}
}
