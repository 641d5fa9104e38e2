package budget

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/cenkalti/backoff/v4"
)

// Defaults of RetryPolicy.
const (
	DefaultMaxElapsed      = 10 * time.Minute
	DefaultInitialInterval = 500 * time.Millisecond
	DefaultMaxInterval     = 30 * time.Second
)

// RetryPolicy is the one retry policy of bulkload: the uploader retries a
// batch and the poller a page with it. The zero value of each field is its
// default. A RetryPolicy is a value; Do makes a fresh back-off for each call,
// so one policy may serve many goroutines.
type RetryPolicy struct {
	// MaxElapsed bounds the time spent on one operation, attempts and
	// waits included. Zero means DefaultMaxElapsed; negative means no bound
	// but the context's.
	MaxElapsed time.Duration
	// InitialInterval is the first wait; it grows 1.5× per attempt with
	// ±50% jitter up to MaxInterval. Zero means the defaults.
	InitialInterval, MaxInterval time.Duration
	// MaxAttempts bounds the attempts; zero means no bound but MaxElapsed.
	MaxAttempts int
	// Retryable decides whether a failed attempt is tried again. Nil means
	// api.IsRetryable. Errors wrapped with Permanent are never retried.
	Retryable func(error) bool
	// OnRetry, if set, is called before each wait with the failed attempt's
	// number (from 1), its error and the wait.
	OnRetry func(attempt int, err error, wait time.Duration)
}

// Permanent wraps err so that Do returns it at once without retrying.
func Permanent(err error) error { return backoff.Permanent(err) }

// AttemptsError is Do's error after the last attempt failed: it names the
// number of attempts and wraps the last error.
type AttemptsError struct {
	Attempts int
	Err      error
}

func (e *AttemptsError) Error() string {
	if e.Attempts == 1 {
		return e.Err.Error()
	}
	return fmt.Sprintf("giving up after %d attempts: %v", e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *AttemptsError) Unwrap() error { return e.Err }

// Do calls op until it succeeds, fails with an error that is not retryable,
// the policy's bounds are reached or ctx is done. Waits follow the back-off,
// but never less than a Retry-After the server sent. The returned error is
// nil or an *AttemptsError wrapping the last error (ctx.Err() when ctx ended
// the waiting).
func (p RetryPolicy) Do(ctx context.Context, op func(ctx context.Context, attempt int) error) error {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = orDefault(p.InitialInterval, DefaultInitialInterval)
	bo.MaxInterval = orDefault(p.MaxInterval, DefaultMaxInterval)
	switch {
	case p.MaxElapsed < 0:
		bo.MaxElapsedTime = 0
	default:
		bo.MaxElapsedTime = orDefault(p.MaxElapsed, DefaultMaxElapsed)
	}
	bo.Reset()
	retryable := p.Retryable
	if retryable == nil {
		retryable = api.IsRetryable
	}
	for attempt := 1; ; attempt++ {
		err := op(ctx, attempt)
		if err == nil {
			return nil
		}
		var perm *backoff.PermanentError
		if errors.As(err, &perm) {
			return &AttemptsError{Attempts: attempt, Err: perm.Err}
		}
		if ctx.Err() != nil || !retryable(err) || (p.MaxAttempts > 0 && attempt >= p.MaxAttempts) {
			return &AttemptsError{Attempts: attempt, Err: err}
		}
		wait := bo.NextBackOff()
		if wait == backoff.Stop {
			return &AttemptsError{Attempts: attempt, Err: err}
		}
		var ae *api.Error
		if errors.As(err, &ae) && ae.RetryAfter > wait {
			wait = ae.RetryAfter
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &AttemptsError{Attempts: attempt, Err: errors.Join(ctx.Err(), err)}
		case <-t.C:
		}
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
