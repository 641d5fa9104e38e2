package uploader

import (
	"errors"
	"fmt"

	"github.com/bulkload/bulkload/manifest"
)

// Errors that Upload's error may wrap; test with errors.Is.
var (
	// ErrJobNotOpen: the job is no longer open (marked ready, executing or
	// done), so it accepts no more job data. Nothing more can be uploaded
	// into it.
	ErrJobNotOpen = errors.New("the bulk job is not open")
	// ErrBatchRejected: the API refused a batch as invalid (a 4xx other
	// than 429 and the job-not-open 422). Sending it again cannot help.
	ErrBatchRejected = errors.New("the API rejected the batch")
	// ErrManifestMismatch: the manifest belongs to another job, input or
	// chunking, or the input's batches differ from the ones it records.
	// It is manifest.ErrMismatch.
	ErrManifestMismatch = manifest.ErrMismatch
	// ErrForeignWrites: the job holds records this upload cannot account
	// for, so something else is writing to it (or deleted from it), and
	// uploads in doubt cannot be reconciled safely.
	ErrForeignWrites = errors.New("the job holds records this upload did not send")
	// ErrUnresolvable: some uploads in doubt could not be told apart
	// because their records are identical to other records; rather than
	// risk storing them twice, the upload stops.
	ErrUnresolvable = errors.New("cannot tell which uploads in doubt were stored")
)

// BatchError is the error of a batch that could not be stored: it names
// the batch, where it comes from and how many attempts were made, and
// wraps the last attempt's error.
type BatchError struct {
	Seq                 int
	FirstLine, LastLine int
	Attempts            int
	Err                 error
}

func (e *BatchError) Error() string {
	where := ""
	if e.FirstLine > 0 {
		where = fmt.Sprintf(" (lines %d-%d)", e.FirstLine, e.LastLine)
	}
	if e.Attempts > 1 {
		return fmt.Sprintf("batch %d%s: giving up after %d attempts: %v", e.Seq, where, e.Attempts, e.Err)
	}
	return fmt.Sprintf("batch %d%s: %v", e.Seq, where, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *BatchError) Unwrap() error { return e.Err }
