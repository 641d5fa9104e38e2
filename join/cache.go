package join

// entryCache keeps the entries of the batches read last: the one the
// results are in, and a few more for interleaved or lost batches.
type entryCache struct {
	x    *Index
	tick uint64
	slot [cacheSlots]struct {
		b    int32
		used uint64
		es   []entry
	}
}

const cacheSlots = 16

func (c *entryCache) get(b int32) ([]entry, error) {
	c.tick++
	victim := 0
	for i := range c.slot {
		s := &c.slot[i]
		if s.used != 0 && s.b == b {
			s.used = c.tick
			return s.es, nil
		}
		if s.used < c.slot[victim].used {
			victim = i
		}
	}
	s := &c.slot[victim]
	es, err := c.x.entries(b, s.es)
	if err != nil {
		return nil, err
	}
	s.b, s.used, s.es = b, c.tick, es
	return es, nil
}
