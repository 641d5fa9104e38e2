package poller

import (
	"cmp"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
)

func testPacer(cfg Config) *pacer {
	cfg.PerPage = cmp.Or(cfg.PerPage, DefaultPerPage)
	cfg.MinInterval = cmp.Or(cfg.MinInterval, time.Second)
	cfg.MaxInterval = cmp.Or(cfg.MaxInterval, 30*time.Second)
	return newPacer(cfg)
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func executing(processed, total int64) api.Job {
	return api.Job{State: api.StateExecuting, Processed: processed, Total: total}
}

func TestPacerFreshFullMode(t *testing.T) {
	p := testPacer(Config{})
	p.job(t0, executing(0, 10000))
	if p.wantPage(t0, 0) {
		t.Errorf("wantPage() with nothing processed = true; want false")
	}
	if at := p.pollAt(t0); at != t0.Add(time.Second) {
		t.Errorf("pollAt() before a rate is known = %v; want MinInterval later", at.Sub(t0))
	}
	p.job(t0.Add(time.Second), executing(250, 10000)) // 250/s
	now := t0.Add(time.Second)
	if !p.wantPage(now, 0) || !p.wantPage(now, 100) {
		t.Fatalf("wantPage() with 250 ahead, 0 or 100 pending = false; want true")
	}
	if p.wantPage(now, 200) {
		t.Fatalf("wantPage() with 250 ahead, 200 of them asked for = true; want false")
	}
	p.page(now, 100, 100, false)
	p.page(now, 100, 100, false)
	if p.wantPage(now, 0) {
		t.Fatalf("wantPage() with 50 ahead = true; want false")
	}
	// 50 more rows are needed at 250/s: 0.2 s, +10%; the job poll is not
	// due yet (the gap grew to 2 s).
	if at := p.pageAt(now, 0); at != now.Add(220*time.Millisecond) {
		t.Errorf("pageAt() = %v; want 220ms later", at.Sub(now))
	}
	if at := p.pollAt(now); at != now.Add(2*time.Second) {
		t.Errorf("pollAt() = %v; want 2s later", at.Sub(now))
	}
	// Extrapolated, a second later 300 rows are ahead.
	if !p.wantPage(now.Add(time.Second), 0) {
		t.Errorf("wantPage() a second later = false; want true (extrapolated)")
	}
}

func TestPacerSlack(t *testing.T) {
	p := testPacer(Config{})
	p.job(t0, executing(0, 100000))
	p.job(t0.Add(time.Second), executing(1000, 100000))
	now := t0.Add(time.Second)
	p.page(now, 30, 100, true) // 970 final rows ahead, but stuck behind a running one
	if want := 970 * slackGrowth; p.slack != want {
		t.Errorf("slack after a blocked page = %v; want %v", p.slack, want)
	}
	if p.wantPage(now, 0) {
		t.Errorf("wantPage() right after a blocked page = true; want false")
	}
	before := p.slack
	p.job(now.Add(10*time.Second), executing(11000, 100000))
	p.page(now.Add(10*time.Second), 100, 100, false)
	if p.slack >= before {
		t.Errorf("slack after a full page = %v; want below %v", p.slack, before)
	}
}

func TestPacerResumed(t *testing.T) {
	p := testPacer(Config{StartAfter: 5000})
	p.job(t0, executing(3000, 10000))
	if !p.wantPage(t0, 0) {
		t.Fatalf("wantPage() of a resumed poll = false; want true, to learn where it stands")
	}
	if p.wantPage(t0, 100) {
		t.Fatalf("wantPage() of a resumed poll with a page asked for = true; want false until it knows")
	}
	p.page(t0, 100, 100, false)
	if !p.wantPage(t0, 0) {
		t.Fatalf("wantPage() after a full page of a resumed poll = false; want true")
	}
	p.page(t0, 20, 100, true)
	if !p.known || p.wantPage(t0, 0) {
		t.Errorf("after a blocked page: known %v, wantPage %v; want true, false", p.known, p.wantPage(t0, 0))
	}
}

func TestPacerErrorsOnly(t *testing.T) {
	p := testPacer(Config{ErrorsOnly: true})
	p.job(t0, executing(0, 10000))
	p.job(t0.Add(time.Second), executing(100, 10000))
	if p.wantPage(t0.Add(time.Second), 0) {
		t.Errorf("wantPage() of errors only while executing = true; want false")
	}
	// 9900 left at 100/s: the job should be done in 99 s, past MaxInterval.
	if at := p.pollAt(t0.Add(time.Second)); at != t0.Add(3*time.Second) {
		t.Errorf("pollAt() = %v; want the 2s gap", at.Sub(t0.Add(time.Second)))
	}
	p.job(t0.Add(3*time.Second), api.Job{State: api.StateDone, Processed: 10000, Total: 10000})
	if !p.wantPage(t0.Add(3*time.Second), 0) {
		t.Errorf("wantPage() of errors only once done = false; want true")
	}
}

// A job nearly done when first polled is polled again when it should end,
// not MinInterval later: its time stamps tell its rate.
func TestPacerNearlyDone(t *testing.T) {
	p := testPacer(Config{ErrorsOnly: true, MinInterval: 2 * time.Second})
	started, updated := t0.Add(-10*time.Second), t0
	job := executing(9900, 10000) // 990/s: done in about 0.1 s
	job.StartedAt, job.UpdatedAt = &started, &updated
	p.job(t0, job)
	at := p.pollAt(t0)
	if d := at.Sub(t0); d < 100*time.Millisecond || d > 200*time.Millisecond {
		t.Errorf("pollAt() of a job 0.1 s from its end = %v later; want about 0.11 s", d)
	}
	p.job(at, executing(9990, 10000))
	if d := p.pollAt(at).Sub(at); d != 2*time.Second {
		t.Errorf("pollAt() after the job was not done yet = %v later; want MinInterval", d)
	}
}

func TestPacerIdle(t *testing.T) {
	p := testPacer(Config{})
	now := t0
	p.job(now, executing(0, 10000))
	var sleeps []time.Duration
	for range 7 {
		at := p.pollAt(now)
		sleeps = append(sleeps, at.Sub(now))
		now = at
		p.job(now, executing(0, 10000))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i := range want {
		if sleeps[i] != want[i]*time.Second {
			t.Fatalf("sleeps while nothing moves = %v; want %v seconds", sleeps, want)
		}
	}
	p.job(now.Add(30*time.Second), executing(500, 10000))
	if p.idle != 0 || p.rate <= 0 {
		t.Errorf("after the job moves: idle %v, rate %v; want 0 and a rate", p.idle, p.rate)
	}
}

func TestPacerEnd(t *testing.T) {
	for _, tt := range []struct {
		total      int64
		page, poll time.Duration
	}{
		{1000, 1100 * time.Millisecond, 4 * time.Second},       // a full page in 1 s, +10%; the job poll is due in 4 s
		{350, 1100 * time.Millisecond, 550 * time.Millisecond}, // the job should end in 0.5 s, +10%
	} {
		p := testPacer(Config{MaxInterval: time.Minute})
		p.job(t0, executing(0, tt.total))
		p.job(t0.Add(time.Second), executing(100, tt.total))
		p.page(t0.Add(time.Second), 100, 100, false)
		now := t0.Add(3 * time.Second)
		p.job(now, executing(300, tt.total)) // 100/s
		p.page(now, 100, 100, false)
		p.page(now, 100, 100, false)
		if page, poll := p.pageAt(now, 0).Sub(now), p.pollAt(now).Sub(now); page != tt.page || poll != tt.poll {
			t.Errorf("total %d: pageAt(), pollAt() = %v, %v later; want %v, %v", tt.total, page, poll, tt.page, tt.poll)
		}
	}
}
