package apitest

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// NoLimit, as Config.ProcessRate or Config.RateLimit, removes that limit:
// records are processed as fast as the executor can go, or the team budget
// never runs out.
const NoLimit = -1

// Defaults of the Config fields whose zero value means "default".
const (
	DefaultProcessRate      = 1000             // records per second per team
	DefaultRateLimit        = 600              // cost per window per team
	DefaultRateWindow       = time.Minute      // budget window
	DefaultMaxBodyBytes     = 64 << 20         // 64 MiB
	DefaultOutOfOrderWindow = 100              // records in flight
	DefaultRetryingRate     = 0.25             // share of records that retry
	DefaultStallDuration    = 30 * time.Second // FaultStallAfterStore
)

// DefaultTypes are the job types accepted when Config.Types is empty: the
// two the documentation names (§5).
var DefaultTypes = []string{"person/upsert", "calendar/events/upsert"}

// Config configures an Emulator. The zero value is valid: each field's zero
// value means the default stated on it. New validates a Config once and
// keeps a copy, so changing it afterwards has no effect (use SetFaults to
// change faults at run time).
type Config struct {
	// APIKeys are the accepted API keys, sent as "Authorization: Bearer
	// KEY". Each key is its own team unless Teams maps it. If APIKeys and
	// Teams are both empty, any non-empty key is accepted and each distinct
	// key is its own team, created on first use.
	APIKeys []string

	// Teams maps API keys to team names. Keys mapped to the same name share
	// one team: its jobs, people, executor queue and budget. A key in Teams
	// is accepted even if APIKeys does not list it. Team names, never keys,
	// appear in logs.
	Teams map[string]string

	// Types is the allow-list of job types; others are refused with 422.
	// Default: DefaultTypes. Types other than person/upsert and
	// calendar/events/upsert always succeed, with resource {"id": N}.
	Types []string

	// ProcessRate is how many records per second each team's executor
	// finishes (retrying steps count too). 0 means DefaultProcessRate
	// (1000); NoLimit (any negative value) processes as fast as possible,
	// for tests.
	ProcessRate float64

	// ErrorRate is the probability, in [0, 1], that a record fails with an
	// injected error instead of its normal outcome. Default 0.
	ErrorRate float64

	// FailRecords, if set, fails with the injected error every record
	// whose JSON, as uploaded, contains it: a record a client's own checks
	// pass that the server refuses, chosen by the test.
	FailRecords string

	// OutOfOrder makes records finish out of id order: the executor keeps
	// a window of the next OutOfOrderWindow unfinished records of a job and
	// finishes them in random (seeded) order, and some (RetryingRate) show
	// status "retrying" for a while first. processed counts final rows
	// only. Default false: records finish one by one in ascending id.
	OutOfOrder bool

	// OutOfOrderWindow is the window of OutOfOrder. 0 means
	// DefaultOutOfOrderWindow (100).
	OutOfOrderWindow int

	// RetryingRate is the probability, in OutOfOrder mode, that a record
	// passes through "retrying" before it is final. 0 means
	// DefaultRetryingRate (0.25); a negative value means never.
	RetryingRate float64

	// RateLimit is each team's budget: the cost it may spend per
	// RateWindow. 0 means DefaultRateLimit (600); NoLimit (any negative
	// value) means no budget (x-ratelimit-remaining-minute then reports
	// 2147483647).
	RateLimit int

	// RateWindow is the budget window. 0 means DefaultRateWindow (60 s).
	// Windows are fixed and aligned to multiples of RateWindow since the
	// zero time, so a 60 s window is the wall-clock minute.
	RateWindow time.Duration

	// RetryAfter adds a Retry-After header (whole seconds until the window
	// resets, rounded up) to every 429. The API does not document one, so
	// it is off by default.
	RetryAfter bool

	// MaxBodyBytes caps a request body; a larger one is answered 413.
	// 0 means DefaultMaxBodyBytes (64 MiB). At most 4 GiB - 1.
	MaxBodyBytes int64

	// Seed seeds every random choice (record errors, out-of-order picks,
	// faults, jitter). The same seed and the same sequence of calls give
	// the same choices. Default 0, which is a seed like any other.
	Seed uint64

	// Faults are the faults injected from the start; see Faults and
	// Emulator.SetFaults. Default: none.
	Faults Faults

	// Logger, if set, receives one Info line per request: method, path,
	// status, duration, team name and budget remaining. API keys are never
	// logged. Default nil: silent.
	Logger *slog.Logger
}

// withDefaults validates c and returns it with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, k := range c.APIKeys {
		if k == "" {
			bad("APIKeys[%d] is empty", i)
		}
	}
	for k, name := range c.Teams {
		if k == "" || name == "" {
			bad("Teams has an empty key or team name")
			break
		}
	}
	if len(c.Types) == 0 {
		c.Types = DefaultTypes
	}
	c.Types = append([]string(nil), c.Types...)
	for i, t := range c.Types {
		if t == "" {
			bad("Types[%d] is empty", i)
		}
	}
	switch {
	case math.IsNaN(c.ProcessRate) || math.IsInf(c.ProcessRate, 1):
		bad("ProcessRate %v is not a number of records per second", c.ProcessRate)
	case c.ProcessRate == 0:
		c.ProcessRate = DefaultProcessRate
	case c.ProcessRate < 0:
		c.ProcessRate = NoLimit
	}
	if !isRate(c.ErrorRate) {
		bad("ErrorRate %v is outside [0, 1]", c.ErrorRate)
	}
	switch {
	case c.OutOfOrderWindow < 0:
		bad("OutOfOrderWindow %d is negative", c.OutOfOrderWindow)
	case c.OutOfOrderWindow == 0:
		c.OutOfOrderWindow = DefaultOutOfOrderWindow
	}
	switch {
	case math.IsNaN(c.RetryingRate) || c.RetryingRate > 1:
		bad("RetryingRate %v is above 1", c.RetryingRate)
	case c.RetryingRate == 0:
		c.RetryingRate = DefaultRetryingRate
	case c.RetryingRate < 0:
		c.RetryingRate = 0
	}
	switch {
	case c.RateLimit == 0:
		c.RateLimit = DefaultRateLimit
	case c.RateLimit < 0:
		c.RateLimit = NoLimit
	}
	switch {
	case c.RateWindow < 0:
		bad("RateWindow %v is negative", c.RateWindow)
	case c.RateWindow == 0:
		c.RateWindow = DefaultRateWindow
	}
	switch {
	case c.MaxBodyBytes < 0 || c.MaxBodyBytes > math.MaxUint32:
		bad("MaxBodyBytes %d is outside [0, 4 GiB)", c.MaxBodyBytes)
	case c.MaxBodyBytes == 0:
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if err := c.Faults.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("apitest: invalid Config: %w", err)
	}
	return c, nil
}

func isRate(p float64) bool { return p >= 0 && p <= 1 } // false for NaN
