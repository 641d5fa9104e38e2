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
//     handed over again, whatever page holds them;
//   - results come out in ascending id.
//
// The cursor is the id of the last result handed over. [Stats].Cursor
// reports it; a poll started with [Config].StartAfter set to a saved cursor
// resumes where the stopped one ended, in the same mode (full or errors-only).
//
// # Pages in flight
//
// One listing call at a time reads at the network's pace: at 300 ms a call
// the poller would make 3 calls a second where the budget allows 10. So the
// poller keeps several listing calls in flight, each at a cursor of its own,
// the way a sliced scroll splits one read, built from the one cursor the API
// has (id[gt], ascending).
//
// How many. By Little's law, the calls in flight are the call rate times
// the time a call takes. Each answer tells both: how long the call took
// from the poller's side (waiting for the budget included) and how long the
// network took (api.Response.Duration). The window of pages in flight is
// about the budget's rate × the network's latency, plus a quarter, so that
// a call is always waiting at the budget: the budget, not the network, sets
// the pace ([Stats].Window shows it). At 0 ms a call spends nearly all its
// time waiting for the budget and the window is 1: one page at a time, as
// if there were no window. While calls do not wait for the budget at all,
// the window doubles per round trip; it starts from the first answer's
// latency times the API's default pace (10 calls a second). It never
// exceeds [Config].MaxInFlight.
//
// Where. Job-data ids grow in upload order, and a batch's records are
// usually contiguous, so the poller predicts where pages start: the first
// page goes to the cursor (out with the first job poll), and once a page
// has shown where the job's ids are, each next page starts one page further
// (100 rows, at the spacing of ids seen within pages) than the one before.
// Every page that comes back corrects the predictions; the next page always
// starts at the first hole: the first id from the cursor on whose next row
// no page stored or in flight tells (as far as predicted for those in
// flight). A page cut short shows where the rows end, and no page is asked
// for beyond it. While the job runs, pages are asked for only as far as the
// rows should be final when they are read (the processed point predicted
// below).
//
// Gaps. When another job uploads at the same time, this job's ids come in
// runs (its batches) with gaps of the other job's ids between them. A page
// shows a gap when two consecutive rows of the job in it are more than one
// id apart, or when a page asked for at a row of the job (the cursor, or the
// last row of a page) starts further on. Uploads are whole batches, often
// of one size, so the next runs are predicted from the last ones: a run as
// long as the median of the last three runs (the least of two), a gap as
// wide as the median of the last three gaps, and a page predicted to cross
// a gap reaches past it. A page showing the run going on where a gap was
// predicted moves the predicted gap a run further (two batches in a row).
// Once a gap is known, the pages in flight predicted inside it would each
// bring the same rows, the first after it: those not sent yet (still
// waiting for the budget: the client has not asked for a connection) are
// cancelled, and not counted as calls; those sent are spent, and their
// answers used or dropped like any other.
//
// Why nothing is missed or doubled. A full page answered for cursor a,
// ending at id b, tells every row of the job in (a, b]; a page cut short
// tells every row after a. Pages are used only at the cursor: the freshest
// answered page that tells the row after the cursor hands over its final
// rows after the cursor, in order, up to the first that is not final; then
// the next such page, and so on. Rows at or below the cursor are never
// handed over again, whatever page holds them. So a wrong prediction can
// only waste rows, never skip them:
//
//   - an overlap (a page starting below where the one before it ended)
//     reads some rows twice; the second copy is dropped;
//   - a gap (a page predicted to start inside another job's ids) reads the
//     rows after that job's, which a page before it also read;
//   - a hole (no answered or pending page tells the row after the cursor,
//     because the one that did was cut short by a row not final) is filled
//     by a page at the cursor itself;
//   - a dropped page (cancelled before it was sent) tells nothing, and is
//     dropped only when a page stored or in flight brings the same rows;
//     a hole it left would be filled like any other.
//
// A wrong prediction costs at most the pages that were sent before it
// showed, and answers may come back in any order: pages answered ahead of
// the cursor wait until the cursor reaches them. The cursor still moves only
// past rows handed over, so it keeps its meaning, and a poll stopped (or
// killed) with pages in flight resumes from it as before.
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
//     next page should be full and asks for it without polling the job first.
//     The job is polled when a poll is due (the gap doubles from MinInterval
//     to MaxInterval while the job moves), or when the job should be done.
//     While nothing moves (a job waiting its turn) the job is polled with a
//     back-off doubling from MinInterval to MaxInterval, and no page is read.
//     Every sleep lasts at least MinInterval, but for the one poll at the
//     expected end of a job nearly done (below).
//   - When the job is done the rest is drained. A fresh poll (StartAfter 0)
//     knows how many rows it handed over: it stops as soon as that reaches the
//     job's total (fixed once the job executes), often before it has even seen
//     the job done, and never makes a final empty call. A resumed poll stops at
//     the first page shorter than PerPage.
//
// With pages in flight, "ahead" counts the rows already asked for: a page
// is due when the rows ahead, less the slack and less those of the pages in
// flight, fill one more page. Job polls run beside the pages.
//
// So, against the emulator, full mode makes ⌈records/100⌉ listing calls when
// records finish in order and ids are dense, one more when the first page
// goes out before the job has started, and about 2-3% more when records
// finish out of order (more on jobs of a few thousand records, while the
// slack is learned). When another job's ids are interleaved, a gap that
// was not predicted (the first, or one where the batches change size) may
// cost up to the pages sent past it, about the budget's rate × the latency;
// gaps that were predicted cost nothing (BENCHMARKS.md). Job polls are at
// most 2 + ⌈T/MinInterval⌉ plus retried attempts, T being the time from the
// poll's start to its end; while the job moves steadily they are about
// log2(MaxInterval/MinInterval) + T/MaxInterval + 3. With the defaults a job
// running an hour costs about 125 job polls, whatever its size.
//
// The lag between the last record finishing and Run returning is about
// MinInterval: the poller polls when it expects the job to be done (the
// estimate stretched by 10%, at most MinInterval/2), and a poll that finds
// the job not done yet is followed by the next MinInterval later. Only one
// poll may come sooner than MinInterval after the one before: the one at
// the expected end of a job that should end sooner than that. The rate of a
// job seen once is taken from its started_at and updated_at, so a job
// nearly done at the first poll is polled again when it should end.
//
// # Errors only
//
// With [Config].ErrorsOnly the poller hands over only the rows whose status
// is error, at about one call per 100 errors, one page at a time: error ids
// are irregular (random failures, and a bad batch failing together), so
// predicted cursors miss often; measured, they cost up to 60% more calls
// for little time (BENCHMARKS.md), and errors-only reads are short (5% of
// errors is one call per 2,000 records). While the job runs it polls only
// the job (for progress, sleeping until the job is expected to be done,
// within MinInterval..MaxInterval). Once the job is done it reads
// GET /v2/bulk_jobs/{id}/results?status=error with the cursor: exact,
// because every row is final then. Reading status=error rows while the job
// runs is not safe with an id[gt] cursor: a row below the cursor still
// pending could later fail and would be missed forever (records may finish
// out of order), so the poller does not do it. A fresh errors-only poll
// stops when it has handed over the job's errors count, so a job without
// errors costs no listing call at all.
//
// # Goroutines
//
// Run makes each call (a page, a job poll) on a goroutine of its own, which
// lives as long as the call and its retries; results are handed to fn, and
// Progress is called, on Run's goroutine only. Run returns after every one
// of those goroutines has, and ctx reaches every call, retry wait and sleep.
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
