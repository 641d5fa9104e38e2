package poller

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/bulkload/bulkload/api"
)

// page is the answer of one listing call: the rows after its cursor, in
// ascending id, as they stood when it was read. A full page tells every row
// of the job in (after, last id]; a page cut short (fewer rows than
// PerPage) tells every row after after: there are no more.
type page struct {
	after int64
	rows  []api.Result
	full  bool
	open  bool      // the job was open when the page was asked for: more rows may come
	atRow bool      // after is a row of the job (the cursor when it was asked for)
	at    time.Time // when it was answered
}

// reach returns the id up to which the page tells every row of the job.
func (pg *page) reach() int64 {
	if pg.full {
		return pg.rows[len(pg.rows)-1].ID
	}
	return math.MaxInt64
}

// covers reports whether the page tells the row after c: every row from c
// on up to its reach is in it.
func (pg *page) covers(c int64) bool { return pg.after <= c && pg.reach() > c }

// launch starts the listing calls that are due, as many as the window
// allows: the page at the cursor if nothing in flight or stored covers it,
// then pages at the predicted cursors ahead. When none is in flight, it
// sets when to look again.
func (r *run) launch(ctx context.Context, now time.Time) error {
	readAt := now.Add(r.win.lat / 2) // about when a page asked for now is read
	if !r.coveredAt(r.cursor) && len(r.flights) < r.win.size && r.cursorPageDue(now, readAt) {
		r.fetch(ctx, r.cursor)
	}
	for len(r.flights) < r.win.size {
		r.frontier = r.firstHole()
		if !r.predictable(readAt) {
			break
		}
		r.fetch(ctx, r.frontier)
	}
	if len(r.flights) == 0 && !r.pageWake.After(now) {
		wake := now.Add(r.p.cfg.MinInterval)
		if at := r.pace.pageAt(now, r.pending()); at.After(wake) {
			wake = at
		}
		if r.pace.done && !r.blocked.IsZero() {
			wake = r.blocked.Add(r.p.cfg.MinInterval)
		}
		r.pageWake = wake
	}
	return nil
}

// coveredAt reports whether a page in flight or stored tells the row after
// c.
func (r *run) coveredAt(c int64) bool {
	for _, f := range r.flights {
		if f.after <= c {
			return true
		}
	}
	for _, pg := range r.stored {
		if pg.covers(c) {
			return true
		}
	}
	return false
}

// cursorPageDue reports whether the page at the cursor should be asked for
// now. Once the job is done it always is, except that a row found not final
// in a done job is asked for again only MinInterval later.
func (r *run) cursorPageDue(now, readAt time.Time) bool {
	if r.pace.done {
		return r.blocked.IsZero() || !now.Before(r.blocked.Add(r.p.cfg.MinInterval))
	}
	return r.pace.wantPage(readAt, 0)
}

// predictable reports whether a page at the frontier (the first hole from
// the cursor on, see firstHole) is worth a call: the frontier stands on a real id
// (a page has shown where the job's ids are, or the poll resumed from a
// row's id), the cursor's own page is on its way, the frontier is not past
// the last row, a fresh poll has not asked for every row of the job yet,
// and the rows there should be final when the page is read.
func (r *run) predictable(readAt time.Time) bool {
	switch {
	case r.p.cfg.ErrorsOnly || !r.anchored:
		return false
	case r.end >= 0 && r.frontier >= r.end:
		return false
	case !r.coveredAt(r.cursor):
		return false
	}
	pending := r.pending()
	delivered, total := r.stats.Delivered, r.job.Total
	if r.p.cfg.ErrorsOnly {
		delivered, total = r.stats.DeliveredErrors, r.job.Errors
	}
	if r.p.cfg.StartAfter == 0 && r.job.State != api.StateOpen && float64(delivered)+pending >= float64(total) {
		return false
	}
	return r.pace.wantPage(readAt, pending)
}

// step returns how far apart in ids pages are predicted: PerPage rows at
// the spacing of ids within the last full pages (1 when the job's ids are
// dense). The least of the last few is taken, so that a page spanning
// another job's ids does not make the next ones skip rows: a prediction too
// short costs part of a page, one too long a round trip to fill the hole.
func (r *run) step() int64 {
	sp := 0.0
	for _, s := range r.spacing {
		if s > 0 && (sp == 0 || s < sp) {
			sp = s
		}
	}
	return int64(math.Round(float64(r.p.cfg.PerPage) * max(sp, 1)))
}

// pending estimates the rows beyond the cursor asked for already: the
// distinct rows of the stored pages, and for each page in flight the rows it
// should add beyond what the stored pages reach (a page predicted inside
// another job's ids brings rows that others bring too). Counting each page
// in flight as a full page would make a fresh poll stop asking for pages
// early near the end, and a running one wait, for rows it does not have.
func (r *run) pending() float64 {
	ids := make(map[int64]struct{})
	for _, pg := range r.stored {
		for _, row := range pg.rows {
			if row.ID > r.cursor {
				ids[row.ID] = struct{}{}
			}
		}
	}
	// known: how far the stored pages tell every row, from the cursor on.
	known := r.cursor
	for grew := true; grew; {
		grew = false
		for _, pg := range r.stored {
			if pg.covers(known) {
				known, grew = pg.reach(), true
			}
		}
	}
	n := float64(len(ids))
	for _, f := range r.flights {
		reach := r.predictReach(f.after)
		if reach > known {
			n += float64(r.p.cfg.PerPage) * float64(reach-max(f.after, known)) / float64(reach-f.after)
		}
	}
	return n
}

// predictReach predicts the last row of a full page at cursor after:
// PerPage rows on at the spacing of ids within pages, across the gaps of
// another job's ids known or predicted (see layout) when the job's ids
// are dense within its runs.
func (r *run) predictReach(after int64) int64 {
	if step := r.step(); step != int64(r.p.cfg.PerPage) {
		return after + step
	}
	return r.lay.reach(after)
}

// firstHole returns where the next predicted page starts: the first id
// from the cursor on whose next row no page stored or in flight tells (as
// far as predicted for those in flight). Pages in flight or stored beyond a
// hole stay where they are; the hole is filled first.
func (r *run) firstHole() int64 {
	reach := make([]int64, len(r.flights))
	for i, f := range r.flights {
		reach[i] = r.predictReach(f.after)
	}
	x := r.cursor
	for {
		next := x
		for _, pg := range r.stored {
			switch {
			case !pg.covers(x):
			case pg.full:
				next = max(next, pg.reach())
			case len(pg.rows) > 0:
				// Cut short: no row is known past its last (an open
				// job's may come).
				next = max(next, pg.rows[len(pg.rows)-1].ID)
			}
		}
		for i, f := range r.flights {
			if f.after <= x && x < reach[i] {
				next = max(next, reach[i])
			}
		}
		if next == x {
			return x
		}
		x = next
	}
}

// fetch starts the listing call of the page at cursor after, a flight
// of its own.
func (r *run) fetch(ctx context.Context, after int64) {
	// A job not polled yet (the first page goes out with the first poll)
	// counts as open: a short page then proves nothing about the end.
	open := r.job.State == api.StateOpen || r.job.State == ""
	atRow := after > 0 && after == r.cursor
	fl, callCtx := newFlight(ctx, after)
	r.spawn(ctx, callCtx, fl, func(ctx context.Context, a *answer) {
		defer fl.cancel()
		opts := api.ListOptions{After: after, PerPage: r.p.cfg.PerPage}
		list, what := r.p.c.ListJobData, "listing job data"
		if r.p.cfg.ErrorsOnly {
			opts.Statuses = []api.Status{api.StatusError}
			list, what = r.p.c.ListResults, "listing error results"
		}
		var rows []api.Result
		err := r.retry(ctx, &r.pageCalls, a, func(ctx context.Context) (api.Response, error) {
			var resp api.Response
			var err error
			rows, resp, err = list(ctx, r.jobID, opts)
			return resp, err
		})
		if err != nil {
			a.err = fmt.Errorf("%s after id %d: %w", what, after, err)
		}
		a.page = &page{after: after, rows: rows, full: len(rows) >= r.p.cfg.PerPage, open: open, atRow: atRow}
	})
	r.flights = append(r.flights, fl)
	r.pageWake = time.Time{}
}

// land takes an answered page in: it is no longer in flight, and what it
// shows corrects the predictions (see layout): a gap of another job's ids,
// a run going on where a gap was predicted, where the rows end. Then the
// pages in flight that it makes useless are dropped (see drop).
func (r *run) land(pg *page, fl *flight, at time.Time, err error) {
	if i := slices.Index(r.flights, fl); i >= 0 {
		r.flights = slices.Delete(r.flights, i, i+1)
	}
	if err != nil {
		return
	}
	pg.at = at
	// A server that ignores id[gt] or the order must not make rows come out
	// twice or out of order: keep only ascending rows after the cursor.
	rows := pg.rows[:0]
	for _, row := range pg.rows {
		if row.ID > pg.after && (len(rows) == 0 || row.ID > rows[len(rows)-1].ID) {
			rows = append(rows, row)
		}
	}
	pg.rows = rows
	if len(rows) > 0 {
		r.anchored = true
	}
	if !r.p.cfg.ErrorsOnly {
		// Error rows are not consecutive rows of the job: nothing to learn.
		ids := make([]int64, len(rows))
		for i, row := range rows {
			ids[i] = row.ID
		}
		r.lay.learn(pg.after, pg.atRow || pg.after > 0 && pg.after == r.cursor, ids, pg.full)
	}
	switch {
	case pg.full && len(rows) > 0:
		copy(r.spacing[1:], r.spacing[:])
		r.spacing[0] = float64(rows[len(rows)-1].ID-rows[0].ID) / float64(max(len(rows)-1, 1))
	case !pg.full && !pg.open:
		end := pg.after
		if len(rows) > 0 {
			end = rows[len(rows)-1].ID
		}
		if r.end < 0 || end < r.end {
			r.end = end
		}
	}
	if pg.full && len(rows) == 0 {
		return // nothing it can tell
	}
	r.stored = append(r.stored, pg)
	r.drop()
}

// assemble hands over every row the stored pages allow, in id order: from
// the freshest page that tells the row after the cursor, its final rows up
// to the first that is not, page after page. It returns how many rows it
// handed over.
func (r *run) assemble() (int, error) {
	total := 0
	for {
		var pg *page
		for _, s := range r.stored {
			if s.covers(r.cursor) && (pg == nil || s.at.After(pg.at)) {
				pg = s
			}
		}
		if pg == nil {
			break
		}
		n, blocked, err := r.deliver(pg.rows)
		total += n
		r.pace.page(pg.at, n, len(pg.rows), blocked)
		if err != nil {
			return total, err
		}
		if blocked {
			// No stored page is fresher: drop those that tell the row
			// after the cursor, and read it again later.
			r.blocked = pg.at
			r.stored = slices.DeleteFunc(r.stored, func(s *page) bool { return s.covers(r.cursor) })
			break
		}
		r.blocked = time.Time{}
		r.stored = slices.DeleteFunc(r.stored, func(s *page) bool { return s == pg })
		if !pg.full && !pg.open {
			r.ended = true // every row after the cursor was final and handed over
			break
		}
	}
	r.stored = slices.DeleteFunc(r.stored, func(s *page) bool { return s.reach() <= r.cursor })
	return total, nil
}

// deliver hands the final prefix of rows to fn, moving the cursor row by
// row, and reports how many rows it handed over and whether a row that is
// not final stopped it.
func (r *run) deliver(rows []api.Result) (n int, blocked bool, err error) {
	for _, row := range rows {
		switch {
		case row.ID <= r.cursor:
			continue // never hand a row over twice, whatever the server sends
		case !row.Status.Final():
			return n, true, nil
		case r.p.cfg.ErrorsOnly && row.Status != api.StatusError:
			r.cursor = row.ID // the job is done: a success row is final and unwanted
			r.stats.Cursor = row.ID
			continue
		}
		if err := r.fn(row); err != nil {
			return n, false, fmt.Errorf("handling result %d: %w", row.ID, err)
		}
		n++
		r.cursor = row.ID
		r.stats.Cursor = row.ID
		r.stats.Delivered++
		if row.Status == api.StatusError {
			r.stats.DeliveredErrors++
		}
	}
	return n, false, nil
}
