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
// unquoted CSV field (the separator, '\n') or is a quote, or len(b); and
// whether the bytes before it are plain (see plainEnd), so they can be
// copied into a JSON string as they are.
func (r *csvReader) fieldEnd(b []byte, i int) (int, bool) {
	plain := true
	commas := r.commas
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i : i+8])
		s := special(v)
		if s == 0 {
			// No quote, control byte or non-ASCII: only the separator can
			// end the field here.
			if e := hasByte(v, commas); e != 0 {
				return i + bits.TrailingZeros64(e)>>3, plain
			}
			continue
		}
		if e := hasByte(v, commas) | hasByte(v, nls) | hasByte(v, quotes); e != 0 {
			k := bits.TrailingZeros64(e)
			// Bits below k flag bytes before the end; a false hit can only
			// sit above a true one, so any bit there means a true hit.
			return i + k>>3, plain && s&(1<<k-1) == 0
		}
		plain = plain && s == 0
	}
	for ; i < len(b) && !r.stop[b[i]]; i++ {
		plain = plain && !escapeTable[b[i]]
	}
	return i, plain
}

// special flags the bytes of v that plainEnd stops at. Non-ASCII bytes need
// no term of their own; see jsonscan.special.
func special(v uint64) uint64 {
	return (((v ^ quotes) - ones) | ((v ^ slashs) - ones) | (v - spaces)) & highs
}

// plainEnd returns the index of the first byte at or after i that cannot be
// copied into a JSON string as it is: '"', '\\', a control character or
// non-ASCII; or len(s).
func plainEnd(s []byte, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := special(binary.LittleEndian.Uint64(s[i : i+8])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) && !escapeTable[s[i]] {
		i++
	}
	return i
}
