package load_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/load"
)

func TestEstimateCost(t *testing.T) {
	for _, tt := range []struct {
		records, batches int64
		share            float64
		calls            [2]int64   // bounds on Calls
		minutes          [2]float64 // bounds on Minutes
	}{
		// The figure BENCHMARKS.md measured: 1M records, 10,206 calls.
		{1_000_000, 200, 0.8, [2]int64{10_200, 10_260}, [2]float64{21, 21.5}},
		{10_000, 2, 1, [2]int64{108, 112}, [2]float64{0.18, 0.19}},
		{1, 1, 0.8, [2]int64{10, 10}, [2]float64{0.02, 0.03}},
	} {
		c := load.EstimateCost(tt.records, tt.batches, 600, time.Minute, tt.share, 0.05)
		if c.Calls < tt.calls[0] || c.Calls > tt.calls[1] || c.Minutes < tt.minutes[0] || c.Minutes > tt.minutes[1] {
			t.Errorf("%d records at %.1f: %+v; want %v calls, %v minutes", tt.records, tt.share, c, tt.calls, tt.minutes)
		}
		if c.Calls != c.Upload+c.Job+c.Polls+c.Results || c.ErrorsOnlyCalls >= c.Calls && tt.records > 1000 {
			t.Errorf("%d records: %+v: parts do not add up, or errors-only costs no less", tt.records, c)
		}
	}
}

func TestCheckType(t *testing.T) {
	for _, tt := range []struct{ typ, want string }{
		{"person/upsert", ""},
		{"calendar/events/upsert", ""},
		{"people/upsert", "did you mean person/upsert?"},
		{"person/upsrt", "did you mean person/upsert?"},
		{"widget/explode", "unknown job type \"widget/explode\": the known types"},
	} {
		err := load.CheckType(tt.typ)
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckType(%q) = %v; want %q", tt.typ, err, tt.want)
		}
	}
}
