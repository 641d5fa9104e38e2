package apitest

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// jobState is the state of a bulk job (§4).
type jobState uint8

const (
	stOpen jobState = iota
	stExecuting
	stDone
)

var stateNames = [...]string{stOpen: "open", stExecuting: "executing", stDone: "done"}

// rowStatus is the status of one job-data record (§3.2).
type rowStatus uint8

const (
	rsPending rowStatus = iota
	rsRetrying
	rsSuccess
	rsError
)

var statusNames = [...]string{rsPending: "pending", rsRetrying: "retrying", rsSuccess: "success", rsError: "error"}

// kind selects how records of a job type are executed.
type kind uint8

const (
	kindGeneric kind = iota
	kindPerson
	kindCalendar
)

func kindOf(typ string) kind {
	switch typ {
	case "person/upsert":
		return kindPerson
	case "calendar/events/upsert":
		return kindCalendar
	}
	return kindGeneric
}

// maxOpenTeams bounds the teams created on the fly when any key is
// accepted, so that a stream of random keys cannot grow memory forever.
const maxOpenTeams = 10000

// team is what one or more API keys share: jobs, budget, executor queue and
// the people and events its jobs created. Guarded by Emulator.mu.
type team struct {
	name  string
	jobs  []*job // ascending id
	queue []*job // marked ready and not done, in order; queue[0] runs

	people map[uint64]int64    // hashed upsert key -> person id
	events map[uint64]struct{} // hashed (calendar_id, id, i_cal_uid)

	winStart time.Time // start of the current budget window
	used     int       // cost spent in it

	last   time.Time // when the executor last credited this team; zero when idle
	credit float64   // records the executor may still finish
}

func newTeam(name string) *team {
	return &team{name: name, people: make(map[uint64]int64), events: make(map[uint64]struct{})}
}

// job is one bulk job. Guarded by Emulator.mu, except the immutable id,
// team, typ and kind.
type job struct {
	id   int64
	team *team
	typ  string
	kind kind

	name    string
	hasName bool
	state   jobState
	ready   bool

	created, updated, markedReady, started, finished time.Time

	total, processed, errors int64
	batches                  []*batch // ascending ids

	next   int64   // ordinal of the first record not yet taken up
	window []int64 // ordinals taken up but not final (OutOfOrder)
}

// batch is the records of one job_data call, stored compactly: the request
// body itself plus offsets, and per-record outcome columns. buf and offs
// never change once stored, so record slices may be read without the lock.
type batch struct {
	first  int64    // id of record 0; record i has id first+i
	ord    int64    // ordinal of record 0 within its job
	buf    []byte   // the request body
	offs   []uint32 // record i is buf[offs[2i]:offs[2i+1]]
	status []rowStatus
	code   []outcome // what happened, once final
	rid    []int64   // id of the resource created or updated
}

func (b *batch) len() int { return len(b.offs) / 2 }

func (b *batch) record(i int) []byte { return b.buf[b.offs[2*i]:b.offs[2*i+1]] }

// locate returns the batch and index of the record with ordinal ord.
func (j *job) locate(ord int64) (*batch, int) {
	k := sort.Search(len(j.batches), func(k int) bool { return j.batches[k].ord > ord }) - 1
	b := j.batches[k]
	return b, int(ord - b.ord)
}

// seek returns the position of the first record with id > after. It is
// written so that no after, however extreme, overflows.
func (j *job) seek(after int64) (k, i int) {
	k = sort.Search(len(j.batches), func(k int) bool {
		b := j.batches[k]
		return b.first+int64(b.len())-1 > after // the batch's last id
	})
	if k == len(j.batches) || after < j.batches[k].first {
		return k, 0
	}
	return k, int(after - j.batches[k].first + 1)
}

// teamFor returns the team of an API key, creating it when any key is
// accepted, or nil if the key is not accepted.
func (e *Emulator) teamFor(key string) *team {
	if key == "" {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.keys[key]; ok {
		return t
	}
	if !e.anyKey || len(e.keys) >= maxOpenTeams {
		return nil
	}
	t := newTeam(fmt.Sprintf("team-%d", len(e.keys)+1))
	e.keys[key] = t
	return t
}

// addTeams creates the teams of the configured keys.
func (e *Emulator) addTeams(c Config) {
	byName := make(map[string]*team)
	named := func(name string) *team {
		if t, ok := byName[name]; ok {
			return t
		}
		t := newTeam(name)
		byName[name] = t
		return t
	}
	for i, k := range c.APIKeys {
		if name, ok := c.Teams[k]; ok {
			e.keys[k] = named(name)
		} else {
			e.keys[k] = named(fmt.Sprintf("team-%d", i+1))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Teams)) {
		e.keys[k] = named(c.Teams[k])
	}
	e.anyKey = len(e.keys) == 0
}

// jobOf returns job id of team t, or nil. Caller holds e.mu.
func (e *Emulator) jobOf(t *team, id int64) *job {
	j := e.jobs[id]
	if j == nil || j.team != t {
		return nil
	}
	return j
}

// now is the time stamp the emulator records: UTC, whole microseconds,
// as the API shows them.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
