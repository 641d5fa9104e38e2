package uploader

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
)

// TestSharedBudget uploads through a client paced by the team's budget
// (Share 0.6) while another client of the team, paced by nothing, spends
// less than the 40% left to it, exactly that, or more; uploads fail after
// store on top. Every record is stored once, few of our calls are answered
// 429, and few of the other client's: the Budget gives way by the
// remaining-budget header when the team is over its limit.
func TestSharedBudget(t *testing.T) {
	const limit, window = 30, 100 * time.Millisecond
	for _, tc := range []struct {
		name  string
		other int // the other client's calls per window
		seed  uint64
	}{
		{"team below its limit", 6, 1},
		{"team at its limit", 12, 2},
		{"team above its limit", 18, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bud, err := budget.New(budget.Config{Limit: limit, Window: window, Share: 0.6})
			if err != nil {
				t.Fatal(err)
			}
			env := newEnv(t, apitest.Config{Seed: tc.seed, RateLimit: limit, RateWindow: window,
				Faults: apitest.Faults{ErrorAfterStore: 0.1}}, 0, bud)
			others := newClient(t, env.srv, 0, nil) // the same team's key, unpaced
			ctx, stop := context.WithCancel(context.Background())
			var other sync.WaitGroup
			var calls, limited int
			other.Go(func() {
				tick := time.NewTicker(window / time.Duration(tc.other))
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						_, _, err := others.GetJob(ctx, env.job)
						if ctx.Err() != nil {
							return
						}
						calls++
						if api.IsRateLimited(err) {
							limited++
						}
					}
				}
			})
			recs := makeRecords(2000, "b")
			u, _ := New(Config{Client: env.client, Workers: 4, Retry: fastRetry})
			st, err := u.Upload(context.Background(), env.job, newSource(recs, 20))
			stop()
			other.Wait()
			if err != nil {
				t.Fatal(err)
			}
			checkOnce(t, env.srv, env.job, recs)
			t.Logf("ours: %d calls, %d answered 429; the other client's: %d calls, %d answered 429",
				st.Calls, st.RateLimited, calls, limited)
			if st.RateLimited*25 > st.Calls {
				t.Errorf("%d of our %d calls answered 429; want < 4%%", st.RateLimited, st.Calls)
			}
			if limited*50 > calls {
				t.Errorf("%d of the other client's %d calls answered 429; want < 2%%", limited, calls)
			}
		})
	}
}
