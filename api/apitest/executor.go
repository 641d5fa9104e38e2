package apitest

import (
	"bytes"
	"time"
)

// The executor model (§4, §11): one goroutine per Emulator, started by New
// and stopped by Close, advances every team with work. Each team runs one
// job at a time, in the order jobs were marked ready; the others wait,
// showing executing with processed 0. A team earns ProcessRate credits per
// second while it has work, and each credit finishes one record (or, in
// OutOfOrder mode, moves one record to retrying). The goroutine sleeps on
// a timer, every tick while some team has work, and not at all when none
// has.

// tick is how often the executor wakes while some team has work.
const tick = 10 * time.Millisecond

// instantChunk is how many records each team finishes per step with
// ProcessRate NoLimit; the lock is released between steps.
const instantChunk = 4096

// nudge wakes the executor.
func (e *Emulator) nudge() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run is the executor goroutine.
func (e *Emulator) run() {
	defer close(e.execDone)
	timer := time.NewTimer(tick)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-e.closing:
			return
		case <-e.wake:
		case <-timer.C:
		}
		for e.step(time.Now()) {
			if e.cfg.ProcessRate != NoLimit {
				timer.Reset(tick)
				break
			}
			if e.closed() {
				return
			}
		}
	}
}

// step advances every busy team to now and reports whether any still has
// work.
func (e *Emulator) step(at time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := at.UTC().Truncate(time.Microsecond)
	keep := e.busy[:0]
	for _, t := range e.busy {
		e.advance(t, at, ts)
		if len(t.queue) > 0 {
			keep = append(keep, t)
		} else {
			t.last, t.credit = time.Time{}, 0
		}
	}
	clear(e.busy[len(keep):])
	e.busy = keep
	return len(e.busy) > 0
}

// advance spends t's credit on its queue. at is the monotonic time, ts the
// time stamp to record.
func (e *Emulator) advance(t *team, at, ts time.Time) {
	var n int64
	if e.cfg.ProcessRate == NoLimit {
		n = instantChunk
	} else {
		if !t.last.IsZero() {
			t.credit += e.cfg.ProcessRate * at.Sub(t.last).Seconds()
		}
		t.last = at
		n = int64(t.credit)
		t.credit -= float64(n)
	}
	for len(t.queue) > 0 {
		j := t.queue[0]
		if j.started.IsZero() {
			j.started, j.updated = ts, ts
		}
		if left := e.work(t, j, n); left != n {
			n = left
			j.updated = ts
		}
		if j.processed < j.total {
			return
		}
		j.state, j.finished, j.updated = stDone, ts, ts
		t.queue[0] = nil
		t.queue = t.queue[1:]
	}
}

// work spends up to n credits on job j and returns the credits left.
func (e *Emulator) work(t *team, j *job, n int64) int64 {
	if !e.cfg.OutOfOrder {
		for n > 0 && j.next < j.total {
			b, i := j.locate(j.next)
			for ; n > 0 && i < b.len(); i, n = i+1, n-1 {
				e.finish(t, j, b, i)
				j.next++
			}
		}
		return n
	}
	for n > 0 {
		for len(j.window) < e.cfg.OutOfOrderWindow && j.next < j.total {
			j.window = append(j.window, j.next)
			j.next++
		}
		if len(j.window) == 0 {
			break
		}
		n--
		w := e.rng.IntN(len(j.window))
		b, i := j.locate(j.window[w])
		if b.status[i] == rsPending && e.rng.Float64() < e.cfg.RetryingRate {
			b.status[i] = rsRetrying
			continue
		}
		e.finish(t, j, b, i)
		last := len(j.window) - 1
		j.window[w] = j.window[last]
		j.window = j.window[:last]
	}
	return n
}

// finish makes record i of batch b final.
func (e *Emulator) finish(t *team, j *job, b *batch, i int) {
	o, rid := ocInjected, int64(0)
	rec := b.record(i)
	if (e.cfg.ErrorRate == 0 || e.rng.Float64() >= e.cfg.ErrorRate) &&
		(e.cfg.FailRecords == "" || !bytes.Contains(rec, []byte(e.cfg.FailRecords))) {
		o, rid = e.execute(t, j.kind, rec)
	}
	b.code[i], b.rid[i] = o, rid
	j.processed++
	if o.ok() {
		b.status[i] = rsSuccess
	} else {
		b.status[i] = rsError
		j.errors++
	}
	e.stats.processed.Add(1)
}
