// Package join ties each result row of a bulk job to the input line where
// its record starts, with certainty or not at all.
//
// # What is known
//
// The API echoes each row's record as it was uploaded (a real server may
// re-serialize it, so records are compared by a hash of their canonical
// JSON: members sorted by key, no whitespace, escapes and numbers
// normalized). Row ids grow in upload order: the records of one job_data
// POST get ids in the order of its "data" array. Batches go out from several
// workers at once, so their records interleave in id order; the emulator
// stores a batch's records under consecutive ids, the real API does not
// promise it. The poller hands over every row of the job, once, in
// ascending id, whatever order the rows were executed in.
//
// # The index
//
// At upload time every batch is passed to [Index.Add] with the line on
// which each of its records starts. The index file, in the run's state
// directory, keeps 12 bytes per record (a 64-bit content hash and the
// line), one append-only frame per batch with a CRC, so a crash leaves at
// most a torn last frame, which [OpenIndex] cuts. A resumed upload adds
// every batch again (those already in are checked and skipped). Once the
// upload has stored every batch, [Index.Seal] marks the index complete.
//
// # The tie
//
// The rows, in id order, are a merge of the batches: each batch's records
// appear in their order, interleaved with other batches' records. So the
// next row is always the next unread record of some batch. The [Resolver]
// keeps, for each batch, how many of its records the rows have shown (its
// frontier), and a table from the hash of each batch's next record to the
// batch: a few dozen bytes per batch, whatever the size of the input. For
// each row it looks up the row's content hash among the frontier records:
//
//   - one candidate: the row is that record, with certainty. No other
//     record could be next: every record that could is in the frontier,
//     and none other has this content. This holds even when the same
//     content occurs elsewhere in the input, as long as it is not next in
//     another batch, and it does not depend on batches being contiguous or
//     on how workers interleaved. (The prediction that the row continues
//     the batch of the row before is the common case of this lookup.)
//   - several candidates (two batches whose next records have the same
//     content): the row could be either, so its line is left empty, unless
//     every candidate starts on the same line of the same file. Which
//     batch moved on is not known, so each candidate's batch is marked
//     lost: from then on any of its records from its last known place on
//     is a candidate, and the batch is found again as soon as a row
//     matches one of its records alone. Lost batches cost memory per
//     unread record; past [ResolverConfig].MaxLost (an input made mostly of
//     repeats) the resolver stops and leaves the remaining lines empty.
//   - no candidate: a row this index does not expect (a record that was
//     not indexed); its line is empty.
//
// A hash collision, or a server that re-serializes two different records
// alike, can only add candidates, never remove the true one: it can leave
// a line empty, never make it wrong. What the tie rests on is the model:
// every uploaded batch was indexed (hence the seal), a batch stored twice
// (uploader.Config.ResendUnresolvable) is declared with
// [ResolverConfig].Repeats, and the resolver is fed every row of the job
// in id order (so not the errors-only poll: see below).
//
// The model also takes the records of one POST to get ids in the order of
// its "data" array ("ids grow in upload order"). [ResolverStats].Empty
// counts the rows left without a line: the summary reports it.
//
// # The errors-only tie
//
// The errors-only poll hands over the failed rows only, so no frontier can
// be kept: a failed row's batch neighbours are mostly not seen. A [Lookup]
// ties each such row alone, by content: the row gets a line when its
// record's hash occurs at exactly one (file, line) of the whole index, and
// none otherwise. That is certain for the same reason as above: every
// record of the job was indexed (the index is sealed), so the row's own
// record is among the index entries with its hash; if all of them start on
// one line of one file, that is the line, whichever of them the row is. A
// collision or a record that repeats can only add entries, on other lines
// (the line is then left empty, counted Ambiguous), never take the true
// one away. Repeats on one line of one file (two records of a JSON array
// on one line) keep the line; a batch stored twice (Repeats) is one batch
// of the index, so its copies share their lines. A row whose hash the index
// does not hold (a record not indexed) is Unmatched.
//
// What it costs, against the Resolver: a record that repeats anywhere in
// the input gets no line, even where the order of the full read would have
// told its copies apart. Where the Resolver needs memory per batch, a
// Lookup needs the index sorted by hash: see [Lookup] for why a sorted
// file, made once next to the index and kept for the next read, and not a
// map or a scan per page. A row costs one 4 KiB read from it (in the page
// cache after the sort) and a binary search; rows may come in any order,
// and a read that goes on after a cursor needs no state to tie its rows.
//
// # Cost
//
// At upload time, canonical JSON and SHA-256 per record, about as much CPU
// as the chunker spends on it, and 12 bytes per record on disk. At results
// time the same hash per row and a map lookup; memory is about 50 bytes per
// batch plus 16 cached batches' entries (60 KiB each for 5,000 records),
// 1.3 MiB at 1M records, where a map from every record's hash to its line
// would take 36 MiB (BENCHMARKS.md). An errors-only read sorts the index
// once, about 16 bytes per record on disk and a bounded 16 MiB chunk in
// memory, then keeps 12 bytes per 256 records in memory.
//
// # Resume
//
// [Resolver.State] is a compact snapshot of the frontier; save it with the
// poller's cursor and the results files' offsets, and pass it back as
// [ResolverConfig].State to a resolver over the same index (reopened with
// OpenIndex in the new process) to continue after the cursor.
package join
