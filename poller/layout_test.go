package poller

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulkload/bulkload/api"
)

// span returns the ids from, from+1, ..., to.
func span(from, to int64) []int64 {
	var ids []int64
	for id := from; id <= to; id++ {
		ids = append(ids, id)
	}
	return ids
}

// What pages show of the job's runs and gaps, and where the next pages are
// predicted to reach.
func TestLayout(t *testing.T) {
	type seen struct {
		after int64
		atRow bool
		ids   []int64
	}
	tests := []struct {
		name  string
		pages []seen
		// reach: a page at cursor k is predicted to end at reach[k].
		reach map[int64]int64
	}{
		{name: "nothing known: dense",
			reach: map[int64]int64{0: 100, 5000: 5100}},
		{name: "below the first row",
			pages: []seen{{0, false, span(1001, 1100)}},
			reach: map[int64]int64{0: 1100, 700: 1100, 1100: 1200}},
		{name: "one gap, no run: known, not predicted",
			pages: []seen{{5000, true, append(span(5001, 5050), span(6051, 6100)...)}},
			reach: map[int64]int64{5000: 6100, 5020: 6120, 5050: 6150, 5500: 6150, 9000: 9100}},
		{name: "runs of 1000, gaps of 1000, aligned with the pages",
			pages: []seen{
				{0, false, span(1, 100)},
				{900, false, span(901, 1000)},
				{1000, false, span(2001, 2100)}, // 1000 is known to be a row: the page before ended there
			},
			reach: map[int64]int64{
				1000: 2100, 1500: 2100, // in the gap
				2900: 3000, 3000: 4100, 2950: 4050, // the next gap, predicted
				4900: 5000, 5000: 6100, // and the one after
			}},
		{name: "a gap shown before the page that ends at its cursor",
			pages: []seen{
				{0, false, span(1, 100)},
				{1000, false, span(2001, 2100)}, // 1000 not known to be a row yet
				{900, false, span(901, 1000)},
			},
			reach: map[int64]int64{3000: 4100}},
		{name: "irregular runs: the median of the last three",
			pages: []seen{
				{0, false, span(1, 100)},
				{650, false, append(span(651, 700), span(1001, 1050)...)},    // run 700, gap 300
				{1650, false, append(span(1651, 1700), span(1801, 1850)...)}, // run 700, gap 100
				{2450, false, append(span(2451, 2500), span(2701, 2750)...)}, // run 700, gap 200
			},
			// Runs of 700 from 2701: the next gap after 3400, 200 wide.
			reach: map[int64]int64{3300: 3400, 3350: 3650, 3400: 3700}},
		{name: "a run twice as long: the gap comes a run later",
			pages: []seen{
				{0, false, span(1, 100)},
				{900, false, span(901, 1000)},
				{1000, false, span(2001, 2100)},
				{2900, true, span(2901, 3000)},
				{3000, true, span(3001, 3100)}, // no gap where one was predicted
			},
			reach: map[int64]int64{3900: 4000, 4000: 5100}},
		{name: "gaps narrower than a page",
			pages: []seen{
				{0, false, span(1, 100)},
				{200, false, append(span(201, 250), span(288, 337)...)}, // run 250, gap 37
				{500, false, append(span(501, 537), span(575, 637)...)}, // run 250, gap 37
			},
			// Runs of 250 from 575: 575..824, 862..1111, 1149..
			reach: map[int64]int64{700: 800, 800: 937, 1100: 1237}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layout{perPage: 100}
			for _, pg := range tt.pages {
				l.learn(pg.after, pg.atRow, pg.ids, len(pg.ids) == 100)
			}
			for after, want := range tt.reach {
				if got := l.reach(after); got != want {
					t.Errorf("reach(%d) = %d; want %d (runs %d, gaps %d, gaps known %v)", after, got, want, l.run, l.gap, l.jumps)
				}
			}
		})
	}
}

// Another job's ids between this job's, in runs and gaps of various sizes,
// regular or not, aligned with the pages or not: the predictions of where
// pages start may be wrong, but every row comes out once, in id order, none
// skipped, whatever the latency, while the job runs or once it is done, with
// or without a budget in front of the network (pages dropped while they
// wait for it are not counted). Regular runs cost few calls more than
// dense ids.
func TestRunGaps(t *testing.T) {
	tests := []struct {
		name string
		job  fakeConfig
		// maxCalls, if set, bounds the listing calls in pages of 100.
		maxCalls func(pages int) int
		// drops: at 1 s, some pages predicted inside a gap are dropped
		// while they wait for the budget.
		drops bool
	}{
		{name: "runs of 1000, gaps of 1000", job: fakeConfig{n: 10000, rate: 1e6, runs: []int64{1000}, gaps: []int64{1000}},
			maxCalls: func(p int) int { return p*115/100 + 5 }},
		{name: "runs of 1000, gaps of 1000, budget", job: fakeConfig{n: 10000, rate: 1e6, runs: []int64{1000}, gaps: []int64{1000}, pace: 100 * time.Millisecond},
			maxCalls: func(p int) int { return p*115/100 + 5 }},
		{name: "runs of 1000, gaps of 5000, budget", job: fakeConfig{n: 10000, rate: 1e6, runs: []int64{1000}, gaps: []int64{5000}, pace: 100 * time.Millisecond},
			maxCalls: func(p int) int { return p*115/100 + 5 }},
		{name: "runs of 1000, gaps of 1000, while running", job: fakeConfig{n: 8000, rate: 800, runs: []int64{1000}, gaps: []int64{1000}, pace: 100 * time.Millisecond}},
		{name: "runs of 1000, gaps of 3", job: fakeConfig{n: 5000, rate: 1e6, runs: []int64{1000}, gaps: []int64{3}, pace: 100 * time.Millisecond}},
		{name: "runs of 1050, gaps of 950", job: fakeConfig{n: 8000, rate: 1e6, runs: []int64{1050}, gaps: []int64{950}, pace: 100 * time.Millisecond}},
		{name: "runs of 1000 and 2000, gaps of 1000 and 5000", job: fakeConfig{n: 10000, rate: 1e6, runs: []int64{1000, 1000, 2000}, gaps: []int64{1000, 5000}, pace: 100 * time.Millisecond},
			drops: true},
		{name: "irregular runs and gaps", job: fakeConfig{n: 8000, rate: 1e6, runs: []int64{700, 1300, 40, 2500, 999, 101}, gaps: []int64{1, 450, 9000, 99, 100, 101, 2}, pace: 100 * time.Millisecond}},
		{name: "irregular, out of order, while running", job: fakeConfig{n: 6000, rate: 500, window: 100, retryRate: 0.25, errorRate: 0.1,
			runs: []int64{700, 1300, 40, 2500, 999, 101}, gaps: []int64{1, 450, 9000, 99, 100, 101, 2}, pace: 100 * time.Millisecond}},
		{name: "runs shorter than a page", job: fakeConfig{n: 3000, rate: 1e6, runs: []int64{30, 30, 45}, gaps: []int64{70, 1000}, pace: 100 * time.Millisecond}},
		{name: "runs of 1000 but one of 37", job: fakeConfig{n: 8000, rate: 1e6, runs: []int64{1000, 1000, 37, 1000, 1000, 1000}, gaps: []int64{1000}, pace: 100 * time.Millisecond}},
	}
	for _, lat := range []time.Duration{0, 300 * time.Millisecond, time.Second} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%v/%s", lat, tt.name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := tt.job
					c.latency = lat
					job := newFakeJob(c)
					ctx, cancel := context.WithTimeout(t.Context(), 24*time.Hour)
					defer cancel()
					want := job.want(false)
					p, err := New(job, Config{Retry: testRetry})
					if err != nil {
						t.Fatal(err)
					}
					var got []api.Result
					st, err := p.Run(ctx, 42, func(r api.Result) error {
						if k := len(got); k >= len(want) || r.ID != want[k].ID {
							return fmt.Errorf("row %d is id %d; want the next row, %v", k, r.ID, want[min(k, len(want)-1)].ID)
						}
						got = append(got, r)
						return nil
					})
					if err != nil {
						t.Fatalf("Run() = %v", err)
					}
					checkRows(t, got, want)
					if !st.Complete || st.Delivered != int64(job.n()) || st.Cursor != want[len(want)-1].ID {
						t.Errorf("Run() stats = %+v; want complete, %d delivered, cursor %d", st, job.n(), want[len(want)-1].ID)
					}
					calls := job.listCalls()
					if int64(calls) != st.PageCalls {
						t.Errorf("Stats.PageCalls = %d; the fake saw %d (%d dropped before they were sent)", st.PageCalls, calls, job.droppedCalls())
					}
					if tt.drops && lat == time.Second && job.droppedCalls() == 0 {
						t.Errorf("no page dropped while it waited for the budget; want the pages predicted inside the first gap dropped")
					}
					pages := pagesFor(job.n(), DefaultPerPage)
					if tt.maxCalls != nil && calls > tt.maxCalls(pages) {
						t.Errorf("listing calls = %d; want <= %d (%d pages of rows)", calls, tt.maxCalls(pages), pages)
					}
					t.Logf("%d rows: %d listing calls (%.3f× the minimum), %d dropped before they were sent, window %d, %v",
						job.n(), calls, float64(calls)/float64(pages), job.droppedCalls(), st.Window, time.Since(job.start))
				})
			})
		}
	}
}

// A poll of a job whose ids have gaps, stopped by its context and then by
// fn, resumes from the saved cursor each time: together the polls hand over
// every row once, in id order, and count exactly the calls the fake saw.
func TestRunGapsResume(t *testing.T) {
	layouts := []struct {
		name       string
		runs, gaps []int64
	}{
		{"runs and gaps of 1000", []int64{1000}, []int64{1000}},
		{"irregular", []int64{700, 1300, 40, 2500, 999, 101}, []int64{1, 450, 9000, 99, 100, 101, 2}},
	}
	for _, lat := range []time.Duration{300 * time.Millisecond, time.Second} {
		for _, lay := range layouts {
			t.Run(fmt.Sprintf("%v/%s", lat, lay.name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					job := newFakeJob(fakeConfig{n: 8000, rate: 1e6, runs: lay.runs, gaps: lay.gaps,
						latency: lat, pace: 100 * time.Millisecond})
					want := job.want(false)
					var got []api.Result
					var calls int64
					errStop := errors.New("stop")
					// poll runs a poll from after that stops once it has
					// handed over n rows (never when n < 0): by cancelling its context, or by
					// fn failing on the next row.
					poll := func(after int64, n int, byContext bool) (Stats, error) {
						ctx, cancel := context.WithCancel(t.Context())
						defer cancel()
						p, err := New(job, Config{Retry: testRetry, StartAfter: after})
						if err != nil {
							t.Fatal(err)
						}
						k := 0
						st, err := p.Run(ctx, 42, func(r api.Result) error {
							if n >= 0 && k == n {
								if !byContext {
									return errStop
								}
								// Cancelled: Run stops at its next turn,
								// and may hand over a few rows more.
								cancel()
							}
							if i := len(got); i >= len(want) || r.ID != want[i].ID {
								return fmt.Errorf("row %d is id %d; want the next row, %v", i, r.ID, want[min(i, len(want)-1)].ID)
							}
							got = append(got, r)
							k++
							return nil
						})
						calls += st.PageCalls
						if len(got) > 0 && st.Cursor != got[len(got)-1].ID {
							t.Errorf("Stats.Cursor = %d; want the last row handed over, %d", st.Cursor, got[len(got)-1].ID)
						}
						return st, err
					}
					st, err := poll(0, 2345, true)
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("Run() cancelled = %v; want context.Canceled", err)
					}
					st, err = poll(st.Cursor, 1000, false)
					if !errors.Is(err, errStop) {
						t.Fatalf("Run() with fn failing = %v; want fn's error", err)
					}
					if _, err := poll(st.Cursor, -1, false); err != nil {
						t.Fatalf("Run() resumed = %v", err)
					}
					checkRows(t, got, want)
					if seen := int64(job.listCalls()); seen != calls {
						t.Errorf("Stats.PageCalls of the polls = %d; the fake saw %d", calls, seen)
					}
				})
			})
		}
	}
}
