package poller

import (
	"context"
	"net/http/httptrace"
	"slices"
	"sync/atomic"
)

// flight is a listing call in flight. Until the client asks for a
// connection (the budget let it go) it can be cancelled at no cost: see
// drop.
type flight struct {
	after  int64
	cancel context.CancelFunc
	state  atomic.Int32 // flightWaiting, then flightSent or flightCancelled
}

// newFlight returns the flight of a page at cursor after and the context
// to make its call with: cancelled by stop, and with a trace that marks the
// flight sent when the client asks for a connection, which api.Client does
// once the budget let the call go.
func newFlight(ctx context.Context, after int64) (*flight, context.Context) {
	fl := &flight{after: after}
	ctx, fl.cancel = context.WithCancel(ctx)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GetConn: func(string) {
		fl.state.CompareAndSwap(flightWaiting, flightSent)
	}})
	return fl, ctx
}

const (
	flightWaiting int32 = iota
	flightSent
	flightCancelled
)

// stop cancels the call if it has not been sent yet, and reports whether
// it did. A call that asked for a connection is left alone: it is spent.
func (f *flight) stop() bool {
	if !f.state.CompareAndSwap(flightWaiting, flightCancelled) {
		return false
	}
	f.cancel()
	return true
}

// drop cancels the pages in flight, not sent yet, that can only bring rows
// another page brings: those at a cursor in a stretch of ids known to hold
// no row of the job (a gap) where a page stored, or another in flight,
// starts lower in the same stretch. Both would bring the same rows, the
// first of the job after the stretch. A page already sent is left alone:
// it is spent whether it is used or not.
func (r *run) drop() {
	var gone []*flight
	for _, f := range r.flights {
		if r.redundant(f) && f.stop() {
			gone = append(gone, f)
		}
	}
	r.flights = slices.DeleteFunc(r.flights, func(f *flight) bool { return slices.Contains(gone, f) })
}

// redundant reports whether flight f brings only rows that a page stored,
// or another in flight, brings.
func (r *run) redundant(f *flight) bool {
	for _, pg := range r.stored {
		if len(pg.rows) > 0 && pg.after <= f.after && f.after < pg.rows[0].ID {
			return true // the rows after f.after are pg's
		}
	}
	j, ok := r.lay.gapAt(f.after)
	if !ok {
		return false
	}
	for _, g := range r.flights {
		if g != f && g.state.Load() != flightCancelled && j.last <= g.after && g.after < f.after {
			return true
		}
	}
	return false
}
