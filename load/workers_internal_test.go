package load

import (
	"testing"
	"time"

	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/manifest"
)

// Upload workers follow the API's latency: enough calls in flight to use
// the budget's rate (Little's law), never fewer than the default.
func TestWorkers(t *testing.T) {
	b, err := budget.New(budget.Config{Limit: 600, Window: time.Minute, Share: 1}) // 10 calls/s
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		set  int
		rtt  time.Duration
		want int
	}{
		{0, 0, 4},                      // no latency: the default
		{0, 100 * time.Millisecond, 4}, // 1.25 in flight use the budget
		{0, 500 * time.Millisecond, 7}, // 10/s × 0.5 s × 1.25
		{0, time.Second, 13},           // 10/s × 1 s × 1.25
		{0, 5 * time.Second, 16},       // capped
		{2, 5 * time.Second, 2},        // set: as set
	} {
		o := &op{l: &Loader{cfg: Config{Budget: b}}, set: manifest.Run{Workers: tt.set}, rtt: tt.rtt}
		if got := o.workers(); got != tt.want {
			t.Errorf("workers(set %d, rtt %v) = %d; want %d", tt.set, tt.rtt, got, tt.want)
		}
	}
}
