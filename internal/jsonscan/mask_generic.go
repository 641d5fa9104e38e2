//go:build !amd64

package jsonscan

// blockMask64 returns the special-byte mask of b[i:i+64]: bit k is set if
// b[i+k] is '"', '\\', a control character or non-ASCII. The caller
// guarantees i+64 <= len(b). This is the portable version: exact per-byte
// flags, eight bytes at a time, gathered into one bit per byte.
func blockMask64(b []byte, i int) uint64 {
	var mask uint64
	for w := range 8 {
		mask |= gatherHighBits(exactSpecial(load64(b, i+8*w))) << (8 * w)
	}
	return mask
}

const lows = 0x7f7f7f7f7f7f7f7f

// exactSpecial sets the high bit of exactly those bytes of v that are special.
func exactSpecial(v uint64) uint64 {
	eq := func(x uint64) uint64 { return ^(((x & lows) + lows) | x) } // high bit set where x's byte is zero
	below20 := ^((v & lows) + 0x6060606060606060)                     // ASCII below 0x20 (non-ASCII masked below)
	return (eq(v^quotes) | eq(v^slashs) | below20&^v | v) & highs
}

// gatherHighBits packs the high bit of each byte of v into the low 8 bits.
func gatherHighBits(v uint64) uint64 {
	return (v >> 7) * 0x0102040810204080 >> 56
}
