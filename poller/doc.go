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
//   - Job polls (GET /v2/bulk_jobs/{id}) measure the processing rate: the
//     processed counter's rise over the last few polls. Between polls the
//     counter is extrapolated at that rate.
//   - A page is fetched only when it should come back full: when the final
//     rows beyond the cursor ("ahead": the processed rows not handed over
//     yet) exceed PerPage plus a slack. The slack is the number of final rows
//     that pages cut short found stuck behind a row still running (times 1.5),
//     and decays by 1/32 with each full page. So in out-of-order execution the
//     cursor trails the processing point by about the out-of-order lag, and
//     pages still come back full; and a page cut short costs only the rows it
//     missed, since its final prefix is handed over.
//   - The page is the probe: while the job moves, the poller wakes when the
//     next page should be full and fetches it without polling the job first.
//     The job is polled when a poll is due (the gap doubles from MinInterval
//     to MaxInterval while the job moves), or when the job should be done.
//     While nothing moves (a job waiting its turn) the job is polled with a
//     back-off doubling from MinInterval to MaxInterval, and no page is read.
//     Every sleep lasts at least MinInterval.
//   - When the job is done the rest is drained. A fresh poll (StartAfter 0)
//     knows how many rows it handed over: it stops as soon as that reaches the
//     job's total (fixed once the job executes), often before it has even seen
//     the job done, and never makes a final empty call. A resumed poll stops at
//     the first page shorter than PerPage.
//
// So, against the emulator, full mode makes ⌈records/100⌉ listing calls when
// records finish in order, and about 2-3% more when they finish out of order
// (more on jobs of a few thousand records, while the slack is learned). Job
// polls are at most 1 + ⌈T/MinInterval⌉ plus retried attempts, T being the
// time from the poll's start to its end; while the job moves steadily they
// are about log2(MaxInterval/MinInterval) + T/MaxInterval + 3. With the
// defaults a job running an hour costs about 125 job polls, whatever its size.
//
// The lag between the last record finishing and Run returning is about
// MinInterval: the poller wakes when it expects the job to be done (the
// estimate stretched by 10%, at most MinInterval/2), and a poll that finds the
// job not done yet sleeps MinInterval.
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
