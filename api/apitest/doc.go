// Package apitest is an in-process emulator of the Salesloft Bulk Jobs API
// (REST v2), shaped like net/http/httptest. It backs `bulkload serve` and
// the tests of every package that talks to the API.
//
// It follows the project's API notes (shared/spec/salesloft-bulk-api.md):
// what the documentation states, and, where it is silent, the choices of
// its §11, which are the contract. Choices beyond §11 are listed below.
//
// # Use
//
// In a test, start a server on loopback and point the client at its URL:
//
//	srv := apitest.NewServer(apitest.Config{ProcessRate: apitest.NoLimit})
//	defer srv.Close()
//	// requests to srv.URL + "/v2/bulk_jobs" with "Authorization: Bearer KEY"
//
// To serve it under your own http.Server (timeouts, address), use New,
// which returns the http.Handler:
//
//	em, err := apitest.New(cfg)
//	...
//	srv := &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second}
//	... srv.Shutdown(ctx); em.Close()
//
// Everything lives in memory; nothing persists across runs. All methods
// are safe for concurrent use.
//
// # Endpoints and answers
//
//	POST /v2/bulk_jobs                    create a job (type, optional name)
//	GET  /v2/bulk_jobs                    list the team's jobs (id[gt], per_page, state)
//	GET  /v2/bulk_jobs/{id}               fetch a job
//	PUT  /v2/bulk_jobs/{id}               update name and/or ready_to_execute (PATCH too)
//	POST /v2/bulk_jobs/{id}/job_data      upload 1..5,000 records
//	GET  /v2/bulk_jobs/{id}/job_data      list records (id[gt], per_page, status)
//	GET  /v2/bulk_jobs/{id}/results       the same, but {"data": []} until done
//
// Successes are 200 with {"data": ...}. Jobs carry all 14 BulkJob fields in
// alphabetical key order, times in UTC with microseconds
// ("2020-10-14T17:10:30.594437Z") or null until set, name null when not
// given, scopes []. Rows carry id, status, record (byte for byte as
// uploaded), resource (null unless success) and error (null unless error).
// Every answer, errors included, is JSON with Content-Type
// "application/json; charset=utf-8" and the two rate-limit headers. The
// errors, as §11 has them:
//
//	401 {"error": "..."}                    no or unknown Bearer key
//	404 {"error": "..."}                    unknown path, or a job id the team does not have
//	405 {"error": "..."} + Allow            a method the path does not have
//	400 {"error": "..."}                    malformed JSON, query string or UTF-8; body not an object
//	413 {"error": "..."}                    body over Config.MaxBodyBytes
//	422 {"errors": {"type": [...]}}         type missing, not a string, or not in Config.Types
//	422 {"errors": {"data": [...]}}         data missing, not an array, empty, over 5,000, or an item not an object
//	422 {"errors": {"state": [...]}}        job_data or PUT on a job that is not open
//	422 {"errors": {"ready_to_execute": [...]}}  not a JSON boolean; likewise "name" when not a string
//	422 {"errors": {"per_page"|"id"|"state"|"status": [...]}}  bad list parameter
//	429 {"error": "..."}                    team budget spent
//	503 {"error": "..."}                    after Close
//
// A refused call stores nothing: job_data is all or nothing. Request
// bodies are JSON; create and update also accept form encoding.
//
// Choices beyond §11, where nothing documents the behaviour:
//
//   - Ids. Job ids and job-data ids are ascending integers from 1, each
//     from one sequence shared by all teams, as a real server's database
//     would hand them out. Job-data ids of a job are therefore NOT 1..n:
//     uploads to other jobs interleave. Clients must page with id[gt] and
//     never assume density.
//   - Jobs of another team are 404, as are path ids that are not positive
//     decimal integers without sign or leading zeros. Paths are exact: no
//     trailing slash, no ".json".
//   - Authentication comes first: any request without an accepted key is
//     401, even for an unknown path. Then the budget, then routing.
//   - An empty body is an empty object. Unknown body members and query
//     parameters are ignored. Repeated members: the last wins.
//   - List filters: state=a,b, state[]=a&state[]=b and state=a&state=b
//     all work and combine; empty items are ignored; per_page and id[gt]
//     take their first value. A list response has no metadata member.
//   - A PUT with ready_to_execute false on an open job changes nothing;
//     name null clears the name; updated_at changes only when something
//     does.
//   - A job marked ready with no records goes straight to done.
//   - JSON is checked as encoding/json checks it, plus valid UTF-8 in
//     strings (internal/jsonscan): nesting deeper than 10,000 levels is a
//     400, found without recursion.
//   - With any key accepted, at most 10,000 teams are created; further
//     new keys get 401.
//
// # Storage
//
// A job_data body is scanned without building values: each record is
// kept as the byte range it had in the request body, which is kept whole,
// so storing a 5,000-record batch costs a handful of allocations and one
// pass over the bytes. total counts the records stored so far and is
// visible while the job is open (§11). Records are immutable once stored;
// their outcome is kept as a small code and rendered when listed.
//
// # Executor
//
// One goroutine per Emulator, started by New and stopped by Close, runs
// the jobs. A PUT with ready_to_execute true moves the job to executing at
// once (the answer already shows it, with marked_ready_at) and queues it
// on its team. Each team runs one job at a time, in the order they were
// marked ready; a job waiting its turn shows executing with processed 0.
// The running job gets started_at, then its records become final in
// ascending id at Config.ProcessRate records per second per team (default
// 1000; NoLimit for as fast as possible); processed and errors rise and
// updated_at changes with every change. When all are final the job is done
// with finished_at set. Processing costs the team's budget nothing.
//
// With Config.OutOfOrder, records finish in random order within a window
// of the next Config.OutOfOrderWindow records, and some show "retrying"
// before they are final; processed counts final records only. Use it to
// test that a cursor poller never skips a record.
//
// Record outcomes:
//
//   - person/upsert (§11): error when the record has none of id, crm_id,
//     email_address ("Missing required field: email address"), or lacks
//     the field its upsert_key names ("Missing required field: crm id"),
//     or upsert_key is not one of those three. Otherwise success with
//     resource {"person": {"id": N, ...record fields}, "upsert_type": ...}:
//     "update" when the team already has a person with that upsert_key
//     value, else "create" with a new person id. Without upsert_key a
//     person is always created (§5). A field counts as absent when null or
//     "". Values compare as JSON text ("5" and 5 are the same id).
//   - calendar/events/upsert: error when any of id, i_cal_uid, start_time,
//     end_time, calendar_id is absent; otherwise success with resource
//     {"event": {...record}, "upsert_type": ...}, keyed on (id, i_cal_uid)
//     within calendar_id (§5).
//   - any other allowed type: success with resource {"id": N}.
//
// Config.ErrorRate fails records at random (seeded) instead, and
// Config.FailRecords the records that contain a given text.
//
// # Budget
//
// Each team (all its keys and clients together) may spend Config.RateLimit
// (default 600) per fixed window of Config.RateWindow (default 60 s).
// Windows are aligned to multiples of RateWindow since the zero time, so
// the default window is the wall-clock minute, as the header name
// x-ratelimit-remaining-minute suggests. Every call the budget admits costs
// 1, whatever it answers (404, 422 and injected 5xx included); a 429 costs
// nothing. Every answer carries:
//
//	x-ratelimit-endpoint-cost     what the call was charged: 1, or 0 for 401 and 429
//	x-ratelimit-remaining-minute  what the team has left in the window; 0 on 429;
//	                              on 401 (no team) the whole configured budget
//
// Retry-After (whole seconds to the window's end, rounded up) is added to
// 429s only with Config.RetryAfter, since the API documents none.
// Emulator.Spend spends budget as another client of the team would.
//
// # Faults
//
// Config.Faults, changed at run time with Emulator.SetFaults, sets a
// probability per Fault kind and a latency (fixed plus jitter) added
// before every request. Emulator.FailNext forces the next n occurrences of
// a kind. All draws come from a source seeded by Config.Seed. The kinds
// and where they strike:
//
//	job_data POST, before storing:   5xx (500, 502 or 503) or connection reset; nothing stored
//	job_data POST, after storing:    5xx, reset (RST via SO_LINGER 0), or a stalled answer; the batch IS stored
//	GET:                             5xx, or 429 with remaining 0 (charged nothing)
//
// After-store faults are the ones a client cannot tell from a lost
// request: it must reconcile (list job_data) before sending the batch
// again, or it duplicates records. Records and Stats let a test check that
// every record was stored exactly once.
//
// # Inspection
//
// Records, Rows, Job, Jobs, Team and Stats read the state directly, by API
// key, without HTTP and without spending budget.
package apitest
