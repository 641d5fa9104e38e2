// Package api is a thin, typed client for the Salesloft Bulk Jobs API
// (REST v2): one method per endpoint, one HTTP attempt per call.
//
// # The model
//
// A bulk job is created open ([Client.CreateJob]), receives job data in calls
// of at most 5,000 records ([Client.CreateJobData]), is marked ready
// ([Client.UpdateJob] with ReadyToExecute), executes (open → executing → done)
// and exposes one row per record, read with an id[gt] cursor
// ([Client.ListJobData], and [Client.ListResults] once done).
//
// # What the client does and does not do
//
// Every method makes exactly one HTTP attempt. Retrying belongs to the caller
// that owns the unit of work (the uploader per batch, the poller per page),
// because only it knows whether a repeat is safe: job data has no idempotency
// key, so a POST that may have been stored must be reconciled, not resent.
// The client helps by classifying every failure: see [Error],
// [IsRetryable], [IsRateLimited] and [IsAmbiguous].
//
// Every response, failures included, reports the team's rate-limit headers
// (x-ratelimit-endpoint-cost and x-ratelimit-remaining-minute) in a
// [Response]. A [Budget] set in [Config] is consulted before each attempt and
// told about each response, so one limiter can pace every call a process
// makes; package budget provides one.
//
// Job data is uploaded as a pre-encoded {"data":[...]} body, as produced by
// package chunker, so records are never decoded and re-encoded on the way out.
//
// A Client is safe for concurrent use by multiple goroutines.
package api
