package apitest

import (
	"hash/maphash"
	"strconv"
)

// outcome is what executing a record did. The emulator stores this code and
// a resource id per record, not rendered JSON: resources and messages are
// rendered when listed.
type outcome uint8

const (
	ocNone   outcome = iota // not final yet
	ocCreate                // success, upsert_type "create"
	ocUpdate                // success, upsert_type "update"
	ocNoIdentifier
	ocBadUpsertKey
	ocMissingID
	ocMissingCRMID
	ocMissingEmail
	ocMissingICalUID
	ocMissingStartTime
	ocMissingEndTime
	ocMissingCalendarID
	ocInjected
)

var messages = [...]string{
	ocNoIdentifier:      "Missing required field: email address",
	ocBadUpsertKey:      "Invalid upsert_key: must be one of id, crm_id, email_address",
	ocMissingID:         "Missing required field: id",
	ocMissingCRMID:      "Missing required field: crm id",
	ocMissingEmail:      "Missing required field: email address",
	ocMissingICalUID:    "Missing required field: i cal uid",
	ocMissingStartTime:  "Missing required field: start time",
	ocMissingEndTime:    "Missing required field: end time",
	ocMissingCalendarID: "Missing required field: calendar id",
	ocInjected:          "Internal error: record could not be processed (injected by apitest Config.ErrorRate or FailRecords)",
}

func (o outcome) ok() bool { return o == ocCreate || o == ocUpdate }

func (o outcome) message() string {
	if int(o) < len(messages) {
		return messages[o]
	}
	return ""
}

// given returns a field's value for matching, or nil when the field counts
// as absent (null or ""). A string without escapes is compared by its text,
// so "id": 5 and "id": "5" name the same person.
func given(v []byte) []byte {
	switch {
	case string(v) == "null" || string(v) == `""`:
		return nil
	case len(v) >= 2 && v[0] == '"' && !hasBackslash(v):
		return v[1 : len(v)-1]
	}
	return v
}

func (e *Emulator) hash(tag byte, parts ...[]byte) uint64 {
	var h maphash.Hash
	h.SetSeed(e.seed)
	_ = h.WriteByte(tag)
	for _, p := range parts {
		_, _ = h.Write(p)
		_ = h.WriteByte(0) // JSON text never holds a raw NUL
	}
	return h.Sum64()
}

// execute computes the outcome of one record of a job of kind k for team
// t, updating t's people or events. Caller holds e.mu.
func (e *Emulator) execute(t *team, k kind, rec []byte) (outcome, int64) {
	switch k {
	case kindPerson:
		return e.upsertPerson(t, rec)
	case kindCalendar:
		return e.upsertEvent(t, rec)
	}
	e.nextResource++
	return ocCreate, e.nextResource
}

// upsertPerson follows §11: an error when the record has none of id,
// crm_id, email_address, or lacks the field its upsert_key names; otherwise
// an update when the team has a person with that key value, else a create.
// Without upsert_key a person is always created (§5: "If upsert_key is not
// provided, this endpoint will not update an existing record"). upsert_key
// "id" matches the emulator's person ids; an unknown id creates a person
// with a new id.
func (e *Emulator) upsertPerson(t *team, rec []byte) (outcome, int64) {
	var id, crm, email, key []byte
	it := newMemberIter(rec)
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		switch {
		case keyIs(k, "id"):
			id = given(v)
		case keyIs(k, "crm_id"):
			crm = given(v)
		case keyIs(k, "email_address"):
			email = given(v)
		case keyIs(k, "upsert_key"):
			key = given(v)
		}
	}
	if id == nil && crm == nil && email == nil {
		return ocNoIdentifier, 0
	}
	if key != nil {
		var (
			tag     byte
			value   []byte
			missing outcome
		)
		switch string(key) {
		case "id":
			tag, value, missing = 'i', id, ocMissingID
		case "crm_id":
			tag, value, missing = 'c', crm, ocMissingCRMID
		case "email_address":
			tag, value, missing = 'e', email, ocMissingEmail
		default:
			return ocBadUpsertKey, 0
		}
		if value == nil {
			return missing, 0
		}
		if pid, ok := t.people[e.hash(tag, value)]; ok {
			e.indexPerson(t, pid, crm, email)
			return ocUpdate, pid
		}
	}
	e.nextResource++
	pid := e.nextResource
	t.people[e.hash('i', strconv.AppendInt(nil, pid, 10))] = pid
	e.indexPerson(t, pid, crm, email)
	return ocCreate, pid
}

// indexPerson makes pid findable by its crm_id and email_address. A value
// already taken keeps its first person, so creating a second person with
// the same email (no upsert_key) does not redirect later upserts.
func (e *Emulator) indexPerson(t *team, pid int64, crm, email []byte) {
	for _, kv := range [...]struct {
		tag   byte
		value []byte
	}{{'c', crm}, {'e', email}} {
		if kv.value == nil {
			continue
		}
		if h := e.hash(kv.tag, kv.value); t.people[h] == 0 {
			t.people[h] = pid
		}
	}
}

// upsertEvent requires id, i_cal_uid, start_time, end_time and calendar_id
// (§5); the upsert key is (id, i_cal_uid) within calendar_id.
func (e *Emulator) upsertEvent(t *team, rec []byte) (outcome, int64) {
	var f [5][]byte // in the order of the checks below
	it := newMemberIter(rec)
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		for i, name := range [...]string{"id", "i_cal_uid", "start_time", "end_time", "calendar_id"} {
			if keyIs(k, name) {
				f[i] = given(v)
			}
		}
	}
	for i, missing := range [...]outcome{ocMissingID, ocMissingICalUID, ocMissingStartTime, ocMissingEndTime, ocMissingCalendarID} {
		if f[i] == nil {
			return missing, 0
		}
	}
	h := e.hash('v', f[4], f[0], f[1])
	if _, ok := t.events[h]; ok {
		return ocUpdate, 0
	}
	t.events[h] = struct{}{}
	return ocCreate, 0
}

// appendResource renders the resource of a successful record:
//
//	person/upsert:          {"person": {"id": N, ...record fields}, "upsert_type": "create"|"update"}
//	calendar/events/upsert: {"event": {...record}, "upsert_type": "create"|"update"}
//	other types:            {"id": N}
func appendResource(dst []byte, k kind, o outcome, rid int64, rec []byte) []byte {
	switch k {
	case kindPerson:
		dst = append(dst, `{"person":{"id":`...)
		dst = strconv.AppendInt(dst, rid, 10)
		it := newMemberIter(rec)
		for key, v, ok := it.next(); ok; key, v, ok = it.next() {
			if keyIs(key, "id") {
				continue
			}
			dst = append(dst, ',')
			dst = append(dst, key...)
			dst = append(dst, ':')
			dst = append(dst, v...)
		}
		dst = append(dst, '}')
	case kindCalendar:
		dst = append(dst, `{"event":`...)
		dst = append(dst, rec...)
	default:
		dst = append(dst, `{"id":`...)
		dst = strconv.AppendInt(dst, rid, 10)
		return append(dst, '}')
	}
	if o == ocUpdate {
		return append(dst, `,"upsert_type":"update"}`...)
	}
	return append(dst, `,"upsert_type":"create"}`...)
}
