// Package uploader stores a stream of batches in an open Salesloft bulk job,
// in parallel, paced by the team's shared rate budget, each batch exactly
// once, and resumably after Ctrl-C, a crash or kill -9.
//
// # The model
//
// A batch (a chunker.Batch) is a {"data":[...]} body of up to 5,000 records
// with a sequence number, Seq, and a hash of its body. [Uploader.Upload]
// reads batches from a [Source] and POSTs each to the job's job_data
// endpoint with Config.Workers uploads in flight; the dispatcher holds one
// more, so at most Workers+1 batches are read ahead or in flight. Every call
// goes through one api.Client whose api.Config.Budget is the process's one
// budget.Budget, so the uploader, the poller and anything else of the
// process share one limiter adjusted from the rate-limit headers.
//
// Each batch is retried with Config.Retry (budget.RetryPolicy: exponential
// back-off with jitter, a Retry-After floor, bounded by the context and a
// maximum elapsed time). A failure that stored nothing is retried when it is
// retryable: a 429, a 5xx, or a transport failure before the request was
// fully sent (connection refused, DNS). A 4xx other than 429 is final: a 422
// for a job that is not open stops the upload with [ErrJobNotOpen], any
// other with [ErrBatchRejected]; the error is a [*BatchError] naming the
// batch, its lines and the attempts made.
//
// # Exactly once
//
// job_data has no idempotency key and answers only a count. An upload whose
// request was sent but whose answer was lost (a timeout, a reset, a 5xx:
// api.IsAmbiguous) may or may not be stored; it is in doubt, and it is never
// sent again before it has been reconciled with the server:
//
//  1. Pause. The first upload in doubt opens a round: no new upload starts,
//     and the uploads in flight run to their end: stored, refused (nothing
//     stored) or in doubt too (they join the round). Then nothing is in
//     flight and the job cannot change under us.
//  2. Count (1 call). GET the job: total T. K is what the job is known to
//     hold: its total before the upload began plus every batch stored
//     (across runs, from the manifest). E = T-K records of the batches in
//     doubt are stored. E < 0 or E > their sum means someone else writes to
//     the job: stop with [ErrForeignWrites]. If exactly one subset of the
//     doubtful batches' record counts sums to E (always so when E is 0, when
//     E is the whole sum, or when one batch is in doubt) the round is
//     settled.
//  3. Content, when the count cannot tell (equal-sized batches, some
//     stored). Records are compared by a digest of their canonical JSON
//     (keys sorted, no white space), so a server that re-serialises records
//     still matches. The records that can lie after the first record of a
//     batch in doubt are those of the window: the batches in doubt and the
//     stored batches whose upload ended after the earliest doubtful upload
//     began (the tracker retains those). Every other record was stored
//     before it, since its upload had ended before. So a record whose digest
//     is not in the window precedes every record in doubt, and:
//     from the anchor (an id known to precede them: the end of the job seen
//     at the last content round, or 0), probe with per_page=1 listings,
//     galloping then bisecting on id[gt], and move the anchor past each
//     record outside the window, until the next record is in the window.
//     Then list forward from the anchor with per_page=100 to the end, count
//     the digests, and pick the batches in doubt whose records are all
//     present and whose sizes sum to E. When the listing began at the
//     anchor of the last content round, the window's stored batches were
//     all stored after it, so their records are taken out of the count
//     first: a doubt cannot claim a stored batch's copy of a record they
//     share. When several choices fit and they store different records
//     (an input that repeats records), stop with [ErrUnresolvable] rather
//     than guess; resuming meets the same doubt. With
//     Config.ResendUnresolvable they are all sent again instead: the count
//     E of their records the job already holds is exact, so it is kept
//     (Upload.Duplicates) and later rounds still count right, and those E
//     records are stored twice, knowingly.
//  4. Resume. Stored batches are recorded as stored; the others are sent
//     again, as new attempts.
//
// Cost of a round: 1 call when the count settles it; otherwise about
// 2·log2(id distance from the anchor) probes plus (window records + the
// records between the anchor and the window)/100 pages. Ids are global
// across jobs, so the id distance may be large, but a probe is one call;
// the records listed are the window's (at most about 3·Workers batches,
// see below) plus what precedes the window's first record by less than
// one bisection step, never the whole job. (If the job's earlier records
// equal window records byte for byte, the probes stop early and the
// listing is longer; it is still correct.) When the anchor is within a few
// pages of the window the probes are skipped.
//
// The window is bounded: a new upload does not start while the oldest
// unresolved one is more than 2·Workers uploads old, so a hung upload holds
// back at most that many; the bodies of stored batches are retained only
// while an upload that began before they were stored is unresolved, so at
// most 2·Workers bodies are retained besides the Workers+1 in flight.
//
// # Crash-safe resume
//
// With Config.StateDir set, the manifest (package manifest) is saved
// durably: before a batch at or beyond Upload.SentBelow is sent (reserving
// the next Workers+1 Seqs, so one save covers several sends), after every
// stored batch (group commits: concurrent acks share one write), and after
// every round. After a kill at any instant, the batches below SentBelow not
// recorded as stored are in doubt: a resumed Upload re-reads the Source
// (verifying the stored prefix by a chained digest and recorded batches by
// hash: a changed input or chunking is [ErrManifestMismatch]), skips stored
// batches, settles the doubtful ones in one round as above, with the
// manifest's Recent batches as the stored part of the window, and uploads
// the rest. It never creates a job: the caller passes the job id kept in
// the manifest.
//
// # Cancellation
//
// When ctx is canceled Upload stops dispatching, lets calls under way end
// (bounded by Config.DrainTimeout; calls use a context that outlives ctx by
// that much), settles their doubts if it can, saves the manifest and returns
// an error wrapping context.Canceled that tells how to resume. Upload
// returns only after every goroutine it started has exited.
package uploader
