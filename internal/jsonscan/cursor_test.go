package jsonscan

import (
	"math/rand/v2"
	"testing"
)

func naiveMask(b []byte, base int) uint64 {
	var m uint64
	for k := range 64 {
		if i := base + k; i >= len(b) {
			m |= 1 << k
		} else if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			m |= 1 << k
		}
	}
	return m
}

func TestBlockMask(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, r.IntN(200))
		for k := range b {
			if r.IntN(3) == 0 {
				b[k] = byte(r.IntN(256))
			} else {
				b[k] = 'a' + byte(r.IntN(26))
			}
		}
		for base := 0; base < len(b); base += 64 {
			if got, want := blockMask(b, base), naiveMask(b, base); got != want {
				t.Fatalf("blockMask(%q, %d) = %064b; want %064b", b, base, got, want)
			}
		}
		for i := 0; i+64 <= len(b); i++ {
			if got, want := blockMask64(b, i), naiveMask(b, i); got != want {
				t.Fatalf("blockMask64(%q, %d) = %064b; want %064b", b, i, got, want)
			}
		}
	}
}

func TestNextBlock(t *testing.T) {
	b := []byte(`"` + string(make([]byte, 0)) + "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\"tail")
	i, base, mask := nextBlock(b, 1, -64)
	if i != 79 || base != 64 || mask != blockMask(b, 64) {
		t.Errorf("nextBlock = %d, %d, %x; want 79, 64, %x", i, base, mask, blockMask(b, 64))
	}
	if i, _, _ := nextBlock(b, 80, base); i != len(b) {
		t.Errorf("nextBlock past the last special = %d; want %d", i, len(b))
	}
}
