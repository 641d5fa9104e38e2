package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/chunker"
)

// Exit codes, stable for scripts.
const (
	exitOK          = 0   // every record succeeded
	exitFailed      = 1   // the run failed
	exitUsage       = 2   // the command line was wrong
	exitPartial     = 3   // the job finished but some records failed or were rejected
	exitInterrupted = 130 // stopped by a signal; resumable
)

// usageError is a command-line mistake: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError carries an exit code other than 1 with an optional message.
type exitError struct {
	code int
	err  error // nil: nothing more to print
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e exitError) Unwrap() error { return e.err }

// exitCode maps the error a command returned to the process's exit code,
// and prints it, one line, no stack trace.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "bulkload: %s\n", oneLine(ee.err))
		}
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "bulkload: %s\nRun 'bulkload --help' for usage.\n", oneLine(ue.err))
		return exitUsage
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "bulkload: interrupted\n")
		return exitInterrupted
	}
	var done explained
	if !errors.As(err, &done) {
		err = explain(err)
	}
	fmt.Fprintf(stderr, "bulkload: %s\n", oneLine(err))
	return exitFailed
}

// explain turns the errors a person can act on into advice, saying the
// cause once.
func explain(err error) error {
	var ae *api.Error
	var re *chunker.RecordError
	switch {
	case api.IsUnauthorized(err) && errors.As(err, &ae):
		return fmt.Errorf("the API key was refused (%d from %s %s): check SALESLOFT_API_KEY or --api-key", ae.StatusCode, ae.Method, ae.Path)
	case errors.Is(err, chunker.ErrTooManyRejects):
		return fmt.Errorf("%w (raise --max-rejects, or -1 for any number; the rejects file keeps each with its reason)", err)
	case errors.Is(err, chunker.ErrRecordTooLarge):
		return fmt.Errorf("%w: the largest record accepted is %d MiB (skip it with --max-rejects)", err, chunker.DefaultMaxRecordBytes>>20)
	case errors.As(err, &re) && !re.Fatal && !errors.Is(err, chunker.ErrHeader) && !errors.Is(err, chunker.ErrFormat) && !errors.Is(err, chunker.ErrMapping):
		return fmt.Errorf("%w (to skip bad records and load the rest, pass --max-rejects N, or -1 for any number)", err)
	case errors.Is(err, io.ErrUnexpectedEOF) && !isAPIError(err):
		// Reading the input, the only unexpected EOF is a gzip stream
		// that stops.
		return fmt.Errorf("%w (the compressed input is cut short)", err)
	}
	return err
}

func isAPIError(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae)
}

func oneLine(err error) string {
	return strings.TrimSpace(err.Error())
}

func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue)
}

// isCobraUsage recognises the command-line errors cobra makes itself (an
// unknown command); cobra gives them no type, so their text is all there is.
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown shorthand") ||
		strings.HasPrefix(s, "unknown flag") || strings.Contains(s, "arg(s)")
}

// explained is an error explain has already turned into advice.
type explained struct{ err error }

func (e explained) Error() string { return e.err.Error() }
func (e explained) Unwrap() error { return e.err }
