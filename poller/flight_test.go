package poller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
)

// Through api.Client: a flight that the budget let go is sent, cannot be
// stopped and its attempt counts; one still waiting for the budget is
// stopped, its call returns unsent, and its attempt does not count.
func TestFlightStop(t *testing.T) {
	srv := apitest.NewServer(apitest.Config{RateLimit: apitest.NoLimit})
	t.Cleanup(srv.Close)
	// One call at once, then one an hour.
	bud, err := budget.New(budget.Config{Limit: 1, Window: time.Hour, Share: 1, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient(api.Config{APIKey: "ak_flight", BaseURL: srv.URL, HTTPClient: srv.Client(), Budget: bud})
	if err != nil {
		t.Fatal(err)
	}
	call := func(ctx context.Context) error {
		_, _, err := c.ListJobData(ctx, 1, api.ListOptions{PerPage: 100})
		return err
	}

	sent, ctx := newFlight(t.Context(), 0)
	defer sent.cancel()
	err = call(ctx) // no such job: answered 404
	if !api.IsNotFound(err) {
		t.Fatalf("the first call = %v; want a 404", err)
	}
	if got := sent.state.Load(); got != flightSent {
		t.Errorf("after the budget let it go, flight state = %d; want sent (%d)", got, flightSent)
	}
	if sent.stop() {
		t.Errorf("stop() of a sent flight = true; want false")
	}
	if !spent(ctx, err) {
		t.Errorf("spent(answered call) = false; want true")
	}

	waiting, ctx := newFlight(t.Context(), 100)
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	time.Sleep(50 * time.Millisecond) // the call is waiting for the budget: an hour
	if got := waiting.state.Load(); got != flightWaiting {
		t.Fatalf("while it waits for the budget, flight state = %d; want waiting (%d)", got, flightWaiting)
	}
	if !waiting.stop() {
		t.Fatalf("stop() of a waiting flight = false; want true")
	}
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stopped call did not return")
	}
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Sent || !errors.Is(err, context.Canceled) {
		t.Errorf("the stopped call = %v; want an unsent *api.Error wrapping context.Canceled", err)
	}
	if spent(ctx, err) {
		t.Errorf("spent(call stopped before it was sent) = true; want false")
	}
	if got := srv.Stats().Requests[apitest.EndpointListJobData]; got != 1 {
		t.Errorf("the emulator saw %d listing calls; want 1", got)
	}
}
