package uploader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bulkload/bulkload/api"
)

// searchSlack is how many records beyond the window reconciliation lists
// rather than probing for a closer anchor (a probe costs a call, a page of
// 100 records costs one too).
const searchSlack = 500

// maxSolveSteps bounds the search for a consistent set of stored batches.
const maxSolveSteps = 1 << 20

// reconcile decides, for each batch in doubt, whether the job holds it. It
// runs while no upload is in flight, records the stored ones in the
// checkpoint and returns the verdict. stored are the stored batches whose
// records may lie after those of a doubt (the window); live says they were
// all stored since the checkpoint's anchor was set (true within one run:
// a round empties the window). See the package doc for the protocol.
func (r *run) reconcile(doubts, stored []*pending, live bool) (map[*pending]bool, error) {
	r.stats.reconciliations.Add(1)
	job, err := r.getJob(r.calls)
	if err != nil {
		return nil, fmt.Errorf("reconciling: %w", err)
	}
	known := r.cp.known()
	extra := job.Total - known // records of doubtful batches the job holds
	sizes := make([]int, len(doubts))
	sum := 0
	for i, d := range doubts {
		sizes[i] = d.Records
		sum += d.Records
	}
	r.log(slog.LevelDebug, "reconciling", "doubts", seqsOf(doubts), "total", job.Total, "known", known)
	if extra < 0 || extra > int64(sum) {
		return nil, fmt.Errorf("%w: job %d holds %d records; %d were stored before or by this upload, and the %d batches in doubt (%s) hold %d",
			ErrForeignWrites, r.jobID, job.Total, known, len(doubts), seqsOf(doubts), sum)
	}
	verdict := make(map[*pending]bool, len(doubts))
	if pick, ok := uniqueSubset(sizes, int(extra)); ok {
		for i, d := range doubts {
			verdict[d] = pick[i]
		}
		r.settle(verdict)
		return verdict, nil
	}
	r.stats.contentReconciliations.Add(1)
	pick, err := r.byContent(doubts, stored, live, job.Total, int(extra))
	if errors.Is(err, ErrUnresolvable) && r.u.resend {
		// Send them all again: extra of their records, which ones unknown,
		// end up in the job twice. The count stays exact for later rounds.
		r.log(slog.LevelWarn, "resending uploads in doubt that cannot be told apart", "doubts", seqsOf(doubts),
			"stored_twice", extra, "reason", err)
		r.cp.addDuplicates(extra)
		r.stats.duplicates.Add(extra)
		pick = make([]bool, len(doubts))
		err = nil
	}
	if err != nil {
		return nil, err
	}
	for i, d := range doubts {
		verdict[d] = pick[i]
	}
	r.settle(verdict)
	return verdict, nil
}

// settle records the stored batches of a verdict in the checkpoint.
func (r *run) settle(verdict map[*pending]bool) {
	for b, ok := range verdict {
		if ok {
			r.cp.ack(b)
		}
	}
}

// byContent finds which doubts are stored by listing the job's records
// from an anchor that precedes every one of them and comparing digests.
func (r *run) byContent(doubts, stored []*pending, live bool, total int64, extra int) ([]bool, error) {
	window := map[digest]bool{}
	sets := make([]multiset, len(doubts))
	storedSet := multiset{}
	windowRecords := int64(0)
	for i, b := range append(append([]*pending(nil), doubts...), stored...) {
		ds, err := b.recordDigests()
		if err != nil {
			return nil, fmt.Errorf("reconciling batch %d: %w", b.Seq, err)
		}
		for _, d := range ds {
			window[d] = true
		}
		if i < len(doubts) {
			sets[i] = multisetOf(ds)
		} else {
			for _, d := range ds {
				storedSet[d]++
			}
		}
		windowRecords += int64(len(ds))
	}
	anchor, anchorRecords := r.cp.anchor()
	from := anchor
	if total-anchorRecords > windowRecords+searchSlack {
		var err error
		if from, err = r.findAnchor(anchor, window); err != nil {
			return nil, err
		}
	}
	seen := multiset{}
	listed, last, cursor := int64(0), from, from
	for {
		rows, err := r.list(cursor, api.MaxPerPage)
		if err != nil {
			return nil, fmt.Errorf("reconciling: %w", err)
		}
		for _, row := range rows {
			d, err := rowDigest(row.Record)
			if err != nil {
				return nil, fmt.Errorf("reconciling: job data %d: %w", row.ID, err)
			}
			seen[d]++
			last = max(last, row.ID)
		}
		listed += int64(len(rows))
		if len(rows) < api.MaxPerPage {
			break
		}
		cursor = rows[len(rows)-1].ID
	}
	if from == anchor && listed != total-anchorRecords {
		return nil, fmt.Errorf("%w: job %d lists %d records after id %d where %d were expected",
			ErrForeignWrites, r.jobID, listed, anchor, total-anchorRecords)
	}
	// The stored batches of the window are in the job. When the listing
	// began at the anchor and they were all stored since it was set, their
	// records are in the listing, and no doubt can claim them: leave them
	// out. This tells doubts apart from stored batches that share records
	// with them (an input that repeats records). Otherwise they may lie
	// before where the listing began, and every listed record may be a
	// doubt's.
	if live && from == anchor && fits(storedSet, seen) {
		for d, n := range storedSet {
			seen[d] -= n
		}
	}
	// Nothing is in flight: the job's last record is the new anchor.
	r.cp.setAnchor(last, total)
	pick, err := solve(sets, sizesOf(doubts), seen, extra)
	if err != nil {
		return nil, fmt.Errorf("%w: batches %s: %v", ErrUnresolvable, seqsOf(doubts), err)
	}
	return pick, nil
}

// findAnchor returns a job-data id that precedes every record in window
// that the job holds, probing with one-record listings: a probed record
// whose digest is not in window was stored before every upload in doubt
// (see the package doc), so the anchor may move past it; a record in
// window, or the end of the job, bounds the search from above. It gallops
// from lo and then bisects: about 2·log2 of the id distance in calls.
func (r *run) findAnchor(lo int64, window map[digest]bool) (int64, error) {
	// probe reports whether the first record after x is outside the
	// window, and its id.
	probe := func(x int64) (before bool, id int64, err error) {
		rows, err := r.list(x, 1)
		if err != nil || len(rows) == 0 {
			return false, 0, err
		}
		d, err := rowDigest(rows[0].Record)
		if err != nil {
			return false, 0, fmt.Errorf("job data %d: %w", rows[0].ID, err)
		}
		return !window[d], rows[0].ID, nil
	}
	hi := int64(0)
	for step := int64(1); hi == 0; step *= 2 {
		before, id, err := probe(lo + step)
		if err != nil {
			return 0, fmt.Errorf("reconciling: %w", err)
		}
		if !before {
			hi = lo + step
			break
		}
		lo = id
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		before, id, err := probe(mid)
		if err != nil {
			return 0, fmt.Errorf("reconciling: %w", err)
		}
		switch {
		case !before:
			hi = mid
		case id == hi: // the first record after it is in the window
			return id, nil
		case id > hi: // the job changed under us; stay where it is safe
			return lo, nil
		default:
			lo = id
		}
	}
	return lo, nil
}

func (r *run) getJob(ctx context.Context) (api.Job, error) {
	var job api.Job
	err := r.u.retry.Do(ctx, func(ctx context.Context, _ int) error {
		var err error
		job, _, err = r.u.client.GetJob(ctx, r.jobID)
		r.countCall(err, true)
		return err
	})
	return job, err
}

func (r *run) list(after int64, perPage int) ([]api.Result, error) {
	var rows []api.Result
	err := r.u.retry.Do(r.calls, func(ctx context.Context, _ int) error {
		var err error
		rows, _, err = r.u.client.ListJobData(ctx, r.jobID, api.ListOptions{After: after, PerPage: perPage})
		r.countCall(err, true)
		return err
	})
	return rows, err
}

// uniqueSubset reports whether exactly one subset of sizes sums to target,
// and which. It counts subsets by dynamic programming, capped at two.
func uniqueSubset(sizes []int, target int) ([]bool, bool) {
	// ways[i][s]: subsets of sizes[:i] summing to s, capped at 2.
	ways := make([][]uint8, len(sizes)+1)
	ways[0] = make([]uint8, target+1)
	ways[0][0] = 1
	for i, sz := range sizes {
		prev, cur := ways[i], make([]uint8, target+1)
		for s := range cur {
			n := prev[s]
			if s >= sz {
				n += prev[s-sz]
			}
			cur[s] = min(n, 2)
		}
		ways[i+1] = cur
	}
	if ways[len(sizes)][target] != 1 {
		return nil, false
	}
	pick := make([]bool, len(sizes))
	for i, s := len(sizes), target; i > 0; i-- {
		if s >= sizes[i-1] && ways[i-1][s-sizes[i-1]] == 1 {
			pick[i-1] = true
			s -= sizes[i-1]
		}
	}
	return pick, true
}

// solve picks which sets are stored: their sizes must sum to target and
// their records must all be among seen. Several choices are fine when
// they store the same records; choices that differ are an error.
func solve(sets []multiset, sizes []int, seen multiset, target int) ([]bool, error) {
	var cand []int // sets whose records were all seen
	for i, s := range sets {
		if fits(s, seen) {
			cand = append(cand, i)
		}
	}
	var found [][]bool
	steps := 0
	pick := make([]bool, len(sets))
	used := multiset{}
	var dfs func(k, sum int) error
	dfs = func(k, sum int) error {
		if steps++; steps > maxSolveSteps {
			return errors.New("too many possibilities")
		}
		if sum == target {
			found = append(found, append([]bool(nil), pick...))
			if len(found) > 1 && !sameContent(sets, found[0], found[len(found)-1]) {
				return errors.New("their records appear more than once, and more than one choice fits")
			}
			return nil
		}
		for j := k; j < len(cand); j++ {
			i := cand[j]
			if sum+sizes[i] > target || !fitsWith(sets[i], used, seen) {
				continue
			}
			pick[i] = true
			for d, n := range sets[i] {
				used[d] += n
			}
			err := dfs(j+1, sum+sizes[i])
			for d, n := range sets[i] {
				used[d] -= n
			}
			pick[i] = false
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := dfs(0, 0); err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no choice of them matches the %d records the job holds beyond the known ones", target)
	}
	return found[0], nil
}

func fits(s, seen multiset) bool { return fitsWith(s, nil, seen) }

func fitsWith(s, used, seen multiset) bool {
	for d, n := range s {
		if used[d]+n > seen[d] {
			return false
		}
	}
	return true
}

func sameContent(sets []multiset, a, b []bool) bool {
	sum := func(p []bool) multiset {
		m := multiset{}
		for i, ok := range p {
			if ok {
				for d, n := range sets[i] {
					m[d] += n
				}
			}
		}
		return m
	}
	ma, mb := sum(a), sum(b)
	if len(ma) != len(mb) {
		return false
	}
	for d, n := range ma {
		if mb[d] != n {
			return false
		}
	}
	return true
}

func sizesOf(bs []*pending) []int {
	out := make([]int, len(bs))
	for i, b := range bs {
		out[i] = b.Records
	}
	return out
}

func seqsOf(bs []*pending) string {
	var sb strings.Builder
	for i, b := range bs {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprint(&sb, b.Seq)
	}
	return sb.String()
}
