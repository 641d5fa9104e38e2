package budget

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulkload/bulkload/api"
)

func TestRetryPolicyDo(t *testing.T) {
	e503 := &api.Error{StatusCode: http.StatusServiceUnavailable, Method: "GET", Path: "/x"}
	e422 := &api.Error{StatusCode: http.StatusUnprocessableEntity, Method: "GET", Path: "/x"}
	e429 := &api.Error{StatusCode: http.StatusTooManyRequests, Method: "GET", Path: "/x", RetryAfter: 9 * time.Second}
	tests := []struct {
		name         string
		policy       RetryPolicy
		errs         []error // returned by attempts in turn; nil = success
		wantAttempts int
		wantErr      error
		minElapsed   time.Duration
	}{
		{"success first", RetryPolicy{}, []error{nil}, 1, nil, 0},
		{"retry 5xx then succeed", RetryPolicy{}, []error{e503, e503, nil}, 3, nil, 0},
		{"4xx is final", RetryPolicy{}, []error{e422}, 1, e422, 0},
		{"permanent", RetryPolicy{}, []error{Permanent(e503)}, 1, e503, 0},
		{"max attempts", RetryPolicy{MaxAttempts: 2}, []error{e503, e503, nil}, 2, e503, 0},
		{"retry-after honoured", RetryPolicy{}, []error{e429, nil}, 2, nil, 9 * time.Second},
		{"custom classifier", RetryPolicy{Retryable: func(error) bool { return false }}, []error{e503}, 1, e503, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				attempts := 0
				err := tt.policy.Do(context.Background(), func(ctx context.Context, attempt int) error {
					attempts++
					if attempt != attempts {
						t.Errorf("attempt = %d; want %d", attempt, attempts)
					}
					return tt.errs[attempt-1]
				})
				if attempts != tt.wantAttempts {
					t.Errorf("attempts = %d; want %d", attempts, tt.wantAttempts)
				}
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Errorf("Do = %v; want %v", err, tt.wantErr)
				}
				if d := time.Since(start); d < tt.minElapsed {
					t.Errorf("elapsed %v; want ≥ %v", d, tt.minElapsed)
				}
			})
		})
	}
}

func TestRetryPolicyBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := &api.Error{StatusCode: 500, Method: "POST", Path: "/p"}
		start := time.Now()
		err := RetryPolicy{MaxElapsed: time.Minute}.Do(context.Background(), func(context.Context, int) error { return e })
		var ae *AttemptsError
		if !errors.As(err, &ae) || ae.Attempts < 3 {
			t.Fatalf("Do = %v; want *AttemptsError after several attempts", err)
		}
		if !strings.HasPrefix(err.Error(), "giving up after ") {
			t.Errorf("error %q; want it to name the attempts", err)
		}
		if d := time.Since(start); d > 2*time.Minute {
			t.Errorf("gave up after %v; want about MaxElapsed (1m)", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err = RetryPolicy{}.Do(ctx, func(context.Context, int) error { return e })
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, e) {
			t.Errorf("Do under a 2s deadline = %v; want both the deadline and the last error", err)
		}
	})
}
