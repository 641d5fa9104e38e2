package chunker

import (
	"encoding/binary"
	"math/bits"
)

// SWAR ("SIMD within a register") helpers for the CSV reader: they test
// eight bytes at a time. Each mask has the high bit set in the lowest byte
// that matches, and possibly in bytes above it (borrows propagate upwards
// only), so only the lowest set bit is meaningful.

const (
	ones   = 0x0101010101010101
	highs  = 0x8080808080808080
	quotes = '"' * ones
	slashs = '\\' * ones
	spaces = ' ' * ones
	nls    = '\n' * ones
)

// hasByte flags the bytes of v equal to the byte repeated in pat.
func hasByte(v, pat uint64) uint64 {
	x := v ^ pat
	return (x - ones) &^ x & highs
}

// fieldEnd returns the index of the first byte at or after i that ends an
// unquoted CSV field (the separator, '\n') or is a quote, or len(b).
func (r *csvReader) fieldEnd(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i : i+8])
		if m := hasByte(v, r.commas) | hasByte(v, nls) | hasByte(v, quotes); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && !r.stop[b[i]] {
		i++
	}
	return i
}

// plainEnd returns the index of the first byte at or after i that cannot be
// copied into a JSON string as it is: '"', '\\', a control character or
// non-ASCII; or len(s).
func plainEnd(s []byte, i int) int {
	for ; i+8 <= len(s); i += 8 {
		v := binary.LittleEndian.Uint64(s[i : i+8])
		// Non-ASCII bytes need no term of their own; see jsonscan.special.
		if m := (((v ^ quotes) - ones) | ((v ^ slashs) - ones) | (v - spaces)) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) && !escapeTable[s[i]] {
		i++
	}
	return i
}
