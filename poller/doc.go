// Package poller streams the per-record results of a Salesloft bulk job as
// they become final, exactly once and in ascending id, with as few API calls
// as it can.
//
// # The cursor
//
// A job's rows are read with GET /v2/bulk_jobs/{id}/job_data?id[gt]=C&per_page=100:
// the 100 rows after the cursor C, in ascending id. A row is final once its
// status is success or error; pending and retrying rows are not. Rows may
// finish out of id order (and pass through retrying on the way), so a page
// can hold final rows after a row that is not final yet.
//
// The poller hands over only the final prefix of each page (the rows up to
// the first one that is not final) and moves the cursor to the last row it
// handed over. The rows after the first non-final row are dropped and read
// again by a later call: keeping them would save nothing, because the next
// page starts at the cursor anyway and has to be read to learn when the
// blocking row is final. So:
//
//   - nothing is missed: the cursor never passes a row that was not handed
//     over, and every row at or below it was;
//   - nothing is handed over twice: rows at or below the cursor are never
//     asked for again;
//   - results come out in ascending id.
//
// The cursor is the id of the last result handed over. [Stats].Cursor
// reports it; a poll started with [Config].StartAfter set to a saved cursor
// resumes where the stopped one ended, in the same mode (full or errors-only).
//
// # Few calls
//
// Every call costs one unit of the team's budget (600 a minute by default)
// and one page holds at most 100 rows, so calls are the currency: 1M records
// need at least 10,000 listing calls. The poller spends them like this:
//
//   - Pages are fetched only when they are expected to come back full. From
//     the job's processed counter (GET /v2/bulk_jobs/{id}) it estimates how
//     many final rows lie beyond the cursor ("ahead"), and it fetches while
//     ahead exceeds PerPage plus a slack: the number of final rows that the
//     last short page showed to be stuck behind a row still running. The
//     slack is learned from pages that came back short and decays slowly
//     while pages come back full, so in out-of-order execution the cursor
//     trails the processing point by about the out-of-order window and
//     pages still come back full. The cost of a page cut short is only the
//     rows it missed, since its final prefix is handed over.
//   - Between job polls it sleeps until about one page of new final rows is
//     expected, from the processing rate measured over the last few job
//     polls, bounded by [Config].MinInterval and [Config].MaxInterval; near
//     the end it sleeps until the job is expected to be done. While nothing
//     moves (a job waiting its turn) the sleep doubles from MinInterval up
//     to MaxInterval.
//   - When the job is done it drains the rest. A fresh poll (StartAfter 0)
//     knows how many rows it handed over and stops when that reaches the
//     job's total, without a final empty call; a resumed poll stops at the
//     first page shorter than PerPage.
//
// Listing calls in full mode are therefore about ⌈records/100⌉ plus the
// shortfall of the pages cut short (plus one trailing call when resuming),
// and job polls are at most 1 + ⌈execution time / MinInterval⌉ (each cycle
// sleeps at least MinInterval), plus one per retried attempt. With slow
// processing (fewer than PerPage records per MinInterval) it is about one
// job poll per page; with fast processing, one per MinInterval.
//
// # Errors only
//
// With [Config].ErrorsOnly the poller hands over only the rows whose status
// is error, at about one call per 100 errors. While the job runs it polls
// only the job (for progress, sleeping until the job is expected to be
// done, within MinInterval..MaxInterval). Once the job is done it reads
// GET /v2/bulk_jobs/{id}/results?status=error with the cursor: exact,
// because every row is final then. Reading status=error rows while the job
// runs is not safe with an id[gt] cursor: a row below the cursor still
// pending could later fail and would be missed forever (records may finish
// out of order), so the poller does not do it. A fresh errors-only poll
// stops when it has handed over the job's errors count, so a job without
// errors costs no listing call at all.
//
// # Retries and the budget
//
// Each call (a job poll or a page) is retried with [Config].Retry, the
// project's one [budget.RetryPolicy], shared with the uploader. Pacing
// against the team's rate limit is the client's: give it the shared
// [budget.Budget] as api.Config.Budget and every attempt, the poller's
// included, waits for it.
//
// # Results files
//
// [Files] writes the results to two files, successes and errors apart, as
// JSON Lines or CSV, buffered and flushed as they stream.
package poller
