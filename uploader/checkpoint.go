package uploader

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"github.com/bulkload/bulkload/manifest"
)

// A checkpoint owns the Upload's manifest: it updates it as batches are
// sent and stored, and saves it to the state directory (when there is one).
// It is safe for concurrent use. Saves are group commits: a caller whose
// change was already written by a concurrent save does not write again.
type checkpoint struct {
	dir    string       // "" = keep in memory only
	recent func() []int // retained Seqs for Upload.Recent; may be nil

	mu     sync.Mutex
	m      *manifest.Manifest
	prefix []byte // raw chained digest of the batches below AckedBelow
	fresh  bool   // no batch seen yet: AckedBelow follows the first Seq
	gen    uint64 // changes made

	saveMu      sync.Mutex
	savedGen    uint64
	savedRecent []int
}

func newCheckpoint(m *manifest.Manifest, dir string) (*checkpoint, error) {
	u := &m.Upload
	prefix, err := hex.DecodeString(u.PrefixDigest)
	if err != nil {
		return nil, fmt.Errorf("%w: its prefix digest is damaged", ErrManifestMismatch)
	}
	fresh := u.AckedBelow == 0 && u.SentBelow == 0 && len(u.Acked) == 0 && len(u.Sent) == 0
	return &checkpoint{dir: dir, m: m, prefix: prefix, fresh: fresh, gen: 1}, nil
}

// bind ties the manifest to job jobID, or refuses if it is another's.
func (c *checkpoint) bind(jobID int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m.JobID == 0 {
		c.m.JobID = jobID
		c.gen++
	}
	if c.m.JobID != jobID {
		where := ""
		if c.dir != "" {
			where = " in " + c.dir
		}
		return fmt.Errorf("%w: the manifest%s is of job %d, not job %d (continue job %d, or use another state directory)", ErrManifestMismatch, where, c.m.JobID, jobID, c.m.JobID)
	}
	return nil
}

// chain extends a chained digest with one batch hash.
func chain(prev []byte, h [32]byte) []byte {
	s := sha256.New()
	s.Write(prev)
	s.Write(h[:])
	return s.Sum(nil)
}

func (c *checkpoint) upload() manifest.Upload {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Clone().Upload
}

// seen notes the first batch of a fresh manifest: the acked prefix starts
// at its Seq, whatever the chunker numbers from.
func (c *checkpoint) seen(seq int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fresh {
		c.fresh = false
		c.m.Upload.AckedBelow, c.m.Upload.SentBelow = seq, seq
	}
}

// start records the job's total before anything was sent.
func (c *checkpoint) start(total int64) {
	c.change(func(u *manifest.Upload) { u.Started, u.BaseTotal = true, total })
}

// known is the number of records the job holds as far as the manifest
// knows: what was there before plus every stored batch.
func (c *checkpoint) known() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Upload.BaseTotal + c.m.Upload.AckedRecords + c.m.Upload.Duplicates
}

// addDuplicates records that n records of batches about to be sent again
// are already in the job.
func (c *checkpoint) addDuplicates(n int64) {
	c.change(func(u *manifest.Upload) { u.Duplicates += n })
}

// willSend records that b is about to be sent. It reports whether the
// manifest must be saved before the request goes out: it must when b lies
// at or beyond SentBelow, which then moves ahead to reserve the next ones.
func (c *checkpoint) willSend(b *pending, ahead int) (mustSave bool) {
	c.change(func(u *manifest.Upload) {
		if !slices.ContainsFunc(u.Sent, func(x manifest.Batch) bool { return x.Seq == b.Seq }) {
			u.Sent = append(u.Sent, entry(b))
		}
		if b.Seq >= u.SentBelow {
			u.SentBelow = b.Seq + max(ahead, 1)
			mustSave = true
		}
	})
	return mustSave
}

// ack records that b is stored in the job.
func (c *checkpoint) ack(b *pending) {
	c.change(func(u *manifest.Upload) {
		u.Sent = slices.DeleteFunc(u.Sent, func(x manifest.Batch) bool { return x.Seq == b.Seq })
		if u.IsAcked(b.Seq) {
			return
		}
		u.AckedRecords += int64(b.Records)
		i, _ := slices.BinarySearchFunc(u.Acked, b.Seq, func(x manifest.Batch, s int) int { return x.Seq - s })
		u.Acked = slices.Insert(u.Acked, i, entry(b))
		for len(u.Acked) > 0 && u.Acked[0].Seq == u.AckedBelow {
			h, _ := hex.DecodeString(u.Acked[0].Hash)
			c.prefix = chain(c.prefix, [32]byte(h))
			u.AckedBelow++
			u.Acked = u.Acked[1:]
		}
		u.Acked = slices.Clip(u.Acked)
		u.PrefixDigest = hex.EncodeToString(c.prefix)
	})
}

func entry(b *pending) manifest.Batch {
	return manifest.Batch{Seq: b.Seq, Records: b.Records, Hash: hex.EncodeToString(b.hash[:])}
}

func (c *checkpoint) anchor() (id, records int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Upload.Anchor, c.m.Upload.AnchorRecords
}

func (c *checkpoint) setAnchor(id, records int64) {
	c.change(func(u *manifest.Upload) { u.Anchor, u.AnchorRecords = id, records })
}

// complete records that every batch of the input is stored.
func (c *checkpoint) complete(batches int) {
	c.change(func(u *manifest.Upload) {
		u.Complete, u.Batches = true, batches
		u.Sent, u.Recent = nil, nil
	})
}

func (c *checkpoint) change(f func(u *manifest.Upload)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.m.Upload)
	c.gen++
}

// snapshot returns a copy of the manifest as it stands.
func (c *checkpoint) snapshot() *manifest.Manifest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Clone()
}

// commit saves every change made so far, unless a concurrent save already
// did. Without a state directory it does nothing.
func (c *checkpoint) commit() error {
	if c.dir == "" {
		return nil
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	var recent []int
	if c.recent != nil {
		recent = c.recent()
	}
	slices.Sort(recent)
	c.mu.Lock()
	if c.savedGen == c.gen && slices.Equal(recent, c.savedRecent) {
		c.mu.Unlock()
		return nil
	}
	gen := c.gen
	if !c.m.Upload.Complete {
		c.m.Upload.Recent = recent
	}
	snap := c.m.Clone()
	c.mu.Unlock()
	if err := snap.Save(c.dir); err != nil {
		return err
	}
	c.savedGen, c.savedRecent = gen, recent
	return nil
}
