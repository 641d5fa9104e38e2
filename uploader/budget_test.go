package uploader

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
)

// TestSharedBudget uploads through a client paced by the team's budget
// while another client of the team spends 40% of every window, with uploads
// failing after store on top: every record is stored once, and few calls
// are answered 429.
func TestSharedBudget(t *testing.T) {
	const limit, window = 30, 100 * time.Millisecond
	for _, seed := range []uint64{1, 2} {
		t.Run("", func(t *testing.T) {
			bud, err := budget.New(budget.Config{Limit: limit, Window: window, Share: 0.6})
			if err != nil {
				t.Fatal(err)
			}
			env := newEnv(t, apitest.Config{Seed: seed, RateLimit: limit, RateWindow: window,
				Faults: apitest.Faults{ErrorAfterStore: 0.1}}, 0, bud)
			ctx, stop := context.WithCancel(context.Background())
			var other sync.WaitGroup
			other.Go(func() { // the team's other client: 12 of every 30
				tick := time.NewTicker(window / 12)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						env.srv.Spend(testKey, 1)
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
			if st.RateLimited*20 > st.Calls {
				t.Errorf("%d of %d calls answered 429; want < 5%%", st.RateLimited, st.Calls)
			}
			t.Logf("stats %+v", st)
		})
	}
}
