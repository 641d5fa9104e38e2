//go:build !(amd64 || arm64)

package jsonscan

import "encoding/binary"

// load64 returns b[i:i+8] as a little-endian uint64.
func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// load32 returns b[i:i+4] as a little-endian uint32.
func load32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i:]) }
