package jsonscan

// blockMask64 returns the special-byte mask of b[i:i+64]: bit k is set if
// b[i+k] is '"', '\\', a control character or non-ASCII. The caller
// guarantees i+64 <= len(b).
func blockMask64(b []byte, i int) uint64 {
	return specialMask64(&b[i])
}

// specialMask64 is blockMask64 over the 64 bytes at p, in mask_amd64.s.
//
//go:noescape
func specialMask64(p *byte) uint64
