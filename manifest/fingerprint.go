package manifest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// fingerprintSpan is how much of each end of the input Fingerprint reads.
const fingerprintSpan = 1 << 20

// Fingerprint returns the hex SHA-256 of r's size and of its first and last
// MiB (the whole content when it is shorter than 2 MiB). It reads at most
// 2 MiB, so it is cheap for a 50 GB export, and catches the usual changes:
// a file appended to, truncated, re-exported or replaced. It does not see
// an edit in the middle of a large file that keeps its size; the uploader's
// per-batch hashes catch those for every batch it re-reads.
func Fingerprint(r io.ReaderAt, size int64) (string, error) {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(size))
	h.Write(n[:])
	head := min(size, fingerprintSpan)
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, head)); err != nil {
		return "", fmt.Errorf("manifest: fingerprint: %w", err)
	}
	if tail := max(head, size-fingerprintSpan); tail < size {
		if _, err := io.Copy(h, io.NewSectionReader(r, tail, size-tail)); err != nil {
			return "", fmt.Errorf("manifest: fingerprint: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// InputOf describes the file at path for a manifest: its path, size,
// modification time and Fingerprint. format is stored as it is.
func InputOf(path, format string) (Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return Input{}, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Input{}, fmt.Errorf("manifest: %w", err)
	}
	fp, err := Fingerprint(f, st.Size())
	if err != nil {
		return Input{}, err
	}
	return Input{Path: path, Size: st.Size(), ModTime: st.ModTime().UTC(), Fingerprint: fp, Format: format}, nil
}
