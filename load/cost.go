package load

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/poller"
	"github.com/bulkload/bulkload/schema"
)

// KnownTypes are the bulk job types Salesloft's documentation shows in use
// (../shared/spec §5): person/upsert and calendar/events/upsert are
// documented, crm_share/upsert is used by a published integration.
var KnownTypes = []string{"person/upsert", "calendar/events/upsert", "crm_share/upsert"}

// CheckType refuses a job type not in KnownTypes, suggesting the closest
// known one: a type the API does not take fails every record after the
// upload, which costs the whole budget of the load to learn.
func CheckType(typ string) error {
	if slices.Contains(KnownTypes, typ) {
		return nil
	}
	best, bestD := "", math.MaxInt
	for _, k := range KnownTypes {
		if d := schema.Distance(typ, k); d < bestD {
			best, bestD = k, d
		}
	}
	hint := ""
	if bestD <= len(best)/2 {
		hint = fmt.Sprintf("did you mean %s? ", best)
	}
	return fmt.Errorf("unknown job type %q: %sthe known types are %v (a type the documentation does not list can be allowed on purpose)", typ, hint, KnownTypes)
}

// Cost is what a load spends of the team's budget: API calls, each costing
// 1, and the time they take at the share of the budget the load may use.
// It is an estimate for job polls (they depend on how long the job runs)
// and exact for the rest when nothing fails and nothing is retried.
type Cost struct {
	Upload  int64   `json:"upload"`  // job_data POSTs: one per batch
	Job     int64   `json:"job"`     // create and mark ready
	Polls   int64   `json:"polls"`   // job polls while results are read (estimate)
	Results int64   `json:"results"` // listing calls of full mode: ⌈records/100⌉
	Calls   int64   `json:"calls"`   // Upload + Job + Polls + Results
	Minutes float64 `json:"minutes"` // Calls at the budget share
	// ErrorsOnlyCalls and ErrorsOnlyMinutes are the same in errors-only
	// mode, when failureRate of the records fail.
	ErrorsOnlyCalls   int64   `json:"errors_only_calls"`
	ErrorsOnlyMinutes float64 `json:"errors_only_minutes"`
}

// EstimateCost is the cost of loading records in batches under a budget of
// limit calls per window, of which the load may use share, when
// failureRate of the records fail (for the errors-only figure).
func EstimateCost(records, batches int64, limit int, window time.Duration, share, failureRate float64) Cost {
	c := Cost{Upload: batches, Job: 2, Results: ceilDiv(records, api.MaxPerPage)}
	perMinute := float64(limit) * share / window.Minutes()
	minutes := func(calls int64) float64 { return float64(calls) / perMinute }
	// Job polls: a handful while the poller learns the pace, then one per
	// MaxInterval while results stream (poller package doc).
	polls := func(listing int64) int64 {
		return 6 + int64(minutes(listing)*float64(time.Minute)/float64(poller.DefaultMaxInterval))
	}
	c.Polls = polls(c.Results)
	c.Calls = c.Upload + c.Job + c.Polls + c.Results
	c.Minutes = minutes(c.Calls)
	errPages := 1 + ceilDiv(int64(math.Ceil(float64(records)*failureRate)), api.MaxPerPage)
	c.ErrorsOnlyCalls = c.Upload + c.Job + 6 + errPages
	c.ErrorsOnlyMinutes = minutes(c.ErrorsOnlyCalls)
	return c
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
