package apitest

import (
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

func TestBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEmulator(t, Config{RateLimit: 5, RateWindow: 10 * time.Second, RetryAfter: true,
			Teams: map[string]string{"a": "A", "a2": "A", "b": "B"}})
		time.Sleep(2500 * time.Millisecond) // 7.5 s left in the window
		for i, key := range []string{"a", "a2", "a", "a2", "a"} {
			a := mustCall(t, e, 200, "GET", "/v2/bulk_jobs", key, "")
			if got, want := a.header.Get("X-Ratelimit-Remaining-Minute"), strconv.Itoa(4-i); got != want {
				t.Errorf("call %d: remaining = %s; want %s", i, got, want)
			}
		}
		for range 3 {
			a := mustCall(t, e, 429, "GET", "/v2/bulk_jobs", "a2", "")
			if a.header.Get("X-Ratelimit-Remaining-Minute") != "0" || a.header.Get("X-Ratelimit-Endpoint-Cost") != "0" ||
				a.header.Get("Retry-After") != "8" || string(a.body) != `{"error":"rate limit exceeded: the team's budget for this window is spent"}` {
				t.Errorf("429 = %v %s; want remaining 0, cost 0, Retry-After 8", a.header, a.body)
			}
		}
		// Another team has its own budget.
		mustCall(t, e, 200, "GET", "/v2/bulk_jobs", "b", "")
		if tm, _ := e.Team("a"); tm.Used != 5 || tm.Remaining != 0 || tm.Name != "A" ||
			!tm.WindowEnd.Equal(time.Date(2000, 1, 1, 0, 0, 10, 0, time.UTC)) {
			t.Errorf("Team(a) = %+v", tm)
		}
		if s := e.Stats(); s.RateLimited != 3 || s.Statuses[429] != 3 {
			t.Errorf("stats: %d rate limited, %d 429s; want 3", s.RateLimited, s.Statuses[429])
		}
		// A new window restores the budget in full: the 429s cost nothing.
		time.Sleep(7500 * time.Millisecond)
		a := mustCall(t, e, 200, "GET", "/v2/bulk_jobs", "a", "")
		if got := a.header.Get("X-Ratelimit-Remaining-Minute"); got != "4" {
			t.Errorf("remaining in the next window = %s; want 4", got)
		}
		// Another client spends the rest.
		if left, ok := e.Spend("a2", 10); !ok || left != 0 {
			t.Errorf("Spend = %d, %v; want 0, true", left, ok)
		}
		mustCall(t, e, 429, "POST", "/v2/bulk_jobs", "a", `{"type":"person/upsert"}`)
		if len(e.Jobs("a")) != 0 {
			t.Error("a 429'd create created a job")
		}
	})
}

func TestBudgetRetryAfterOff(t *testing.T) {
	e := newEmulator(t, Config{RateLimit: 1})
	mustCall(t, e, 200, "GET", "/v2/bulk_jobs", "k", "")
	if a := mustCall(t, e, 429, "GET", "/v2/bulk_jobs", "k", ""); a.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After = %q without Config.RetryAfter", a.header.Get("Retry-After"))
	}
}

func TestBudgetRetryAfterRoundsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEmulator(t, Config{RateLimit: 1, RateWindow: 200 * time.Millisecond, RetryAfter: true})
		mustCall(t, e, 200, "GET", "/v2/bulk_jobs", "k", "")
		if a := mustCall(t, e, 429, "GET", "/v2/bulk_jobs", "k", ""); a.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q; want 1 (rounded up)", a.header.Get("Retry-After"))
		}
		time.Sleep(200 * time.Millisecond)
		mustCall(t, e, 200, "GET", "/v2/bulk_jobs", "k", "")
	})
}

func TestNoBudget(t *testing.T) {
	e := newEmulator(t, Config{RateLimit: NoLimit})
	for range 700 {
		mustCall(t, e, 200, "GET", "/v2/bulk_jobs", "k", "")
	}
	if a := call(t, e, "GET", "/v2/bulk_jobs", "k", ""); a.header.Get("X-Ratelimit-Remaining-Minute") != "2147483647" {
		t.Errorf("remaining = %s; want 2147483647", a.header.Get("X-Ratelimit-Remaining-Minute"))
	}
	if a := call(t, e, "GET", "/v2/bulk_jobs", "", ""); a.header.Get("X-Ratelimit-Remaining-Minute") != "2147483647" {
		t.Errorf("401 remaining = %s; want 2147483647", a.header.Get("X-Ratelimit-Remaining-Minute"))
	}
}

func TestTeamsAndKeys(t *testing.T) {
	e := newEmulator(t, Config{APIKeys: []string{"k1", "k2"}, Teams: map[string]string{"k3": "Shared", "k2": "Shared"}})
	for key, want := range map[string]string{"k1": "team-1", "k2": "Shared", "k3": "Shared"} {
		if tm, ok := e.Team(key); !ok || tm.Name != want {
			t.Errorf("Team(%s) = %+v, %v; want %s", key, tm, ok, want)
		}
	}
	if _, ok := e.Team("k4"); ok {
		t.Error("Team(k4) found; want unknown")
	}
	if _, ok := e.Spend("k4", 1); ok {
		t.Error("Spend(k4) accepted an unknown key")
	}
	id := createJob(t, e, "k2")
	mustCall(t, e, 200, "GET", jobPath(id), "k3", "")
	mustCall(t, e, 404, "GET", jobPath(id), "k1", "")

	open := newEmulator(t, Config{})
	createJob(t, open, "x")
	createJob(t, open, "y")
	if a, b := open.Jobs("x"), open.Jobs("y"); len(a) != 1 || len(b) != 1 || a[0].Team == b[0].Team {
		t.Errorf("open mode: jobs %+v / %+v; want one each in distinct teams", a, b)
	}
	if _, err := New(Config{APIKeys: []string{""}}); err == nil {
		t.Error("New accepted an empty API key")
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{ErrorRate: 2}, {ErrorRate: -0.1}, {RateWindow: -1}, {MaxBodyBytes: -1}, {MaxBodyBytes: 1 << 33},
		{OutOfOrderWindow: -1}, {RetryingRate: 1.5}, {Types: []string{""}}, {Teams: map[string]string{"k": ""}},
		{Faults: Faults{ErrorAfterStore: 1.1}}, {Faults: Faults{Latency: -1}},
	}
	for _, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) = nil error; want one", c)
		}
	}
	e := newEmulator(t, Config{})
	c := e.cfg
	if c.ProcessRate != 1000 || c.RateLimit != 600 || c.RateWindow != time.Minute || c.MaxBodyBytes != 64<<20 ||
		len(c.Types) != 2 || c.OutOfOrderWindow != 100 || c.RetryingRate != 0.25 {
		t.Errorf("defaults = %+v", c)
	}
	if err := e.SetFaults(Faults{ResetAfterStore: -1}); err == nil {
		t.Error("SetFaults accepted a negative rate")
	}
}
