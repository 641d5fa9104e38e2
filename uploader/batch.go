package uploader

import "crypto/sha256"

// Batch is the unit the uploader stores. TEMPORARY mirror of chunker.Batch
// until package chunker lands.
type Batch struct {
	Seq                 int
	Records             int
	Body                []byte
	Offset, End         int64
	FirstLine, LastLine int
}

// Hash returns the SHA-256 of b.Body.
func (b Batch) Hash() [32]byte { return sha256.Sum256(b.Body) }
