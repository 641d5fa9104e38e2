package jsonscan

import "math/bits"

// The scanner finds the end of a string with a bitmap of the special bytes
// ('"', '\\', control, non-ASCII) of one 64-byte block at a time, kept in a
// register: the next special byte after i is one shift and one
// count-trailing-zeros away, with no load in between. Finding it eight bytes
// at a time from i (skipPlain) made each string a chain of dependent
// load-compute steps that cost ~25% more on person records.

// nextBlock finds the first special byte at or after i when the block at
// base (whose mask the caller holds) has none there. It returns the byte's
// index, len(b) if there is none, and the block that holds it with its mask.
func nextBlock(b []byte, i, base int) (int, int, uint64) {
	if uint(i-base) < 64 {
		i = base + 64
	}
	for i < len(b) {
		base = i &^ 63
		mask := blockMask(b, base)
		if m := mask >> (i - base); m != 0 {
			return i + bits.TrailingZeros64(m), base, mask
		}
		i = base + 64
	}
	return len(b), base, 0
}

// blockMask returns the special-byte mask of b[base:base+64], with the bits
// of positions at or past len(b) set, so that a search stops at the end.
func blockMask(b []byte, base int) uint64 {
	n := len(b)
	if base+64 <= n {
		return blockMask64(b, base)
	}
	past := ^uint64(0) << (n - base)
	if n >= 64 {
		return blockMask64(b, n-64)>>(base-(n-64)) | past
	}
	m := past
	for k := base; k < n; k++ {
		if c := b[k]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			m |= 1 << (k - base)
		}
	}
	return m
}
