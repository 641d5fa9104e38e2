//go:build amd64 || arm64

package jsonscan

import "unsafe"

// load64 returns b[i:i+8] as a little-endian uint64. The caller guarantees
// 0 <= i && i+8 <= len(b).
//
// On these little-endian machines an unaligned load is one instruction; the
// safe binary.LittleEndian.Uint64(b[i:]) costs two bounds checks and a
// slice, which made the whole scanner 25% slower.
func load64(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

// load32 returns b[i:i+4] as a little-endian uint32. The caller guarantees
// 0 <= i && i+4 <= len(b).
func load32(b []byte, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}
