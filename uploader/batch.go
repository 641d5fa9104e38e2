package uploader

import "crypto/sha256"

// Batch is the unit the uploader stores: Body is a {"data":[...]} document
// of Records records, ready to POST. It has chunker.Batch's fields, in the
// same order, so a chunker's batch converts with uploader.Batch(b); the
// uploader does not otherwise depend on the chunker.
type Batch struct {
	Seq                 int // position in the input, consecutive
	Records             int
	Body                []byte
	Offset, End         int64 // the batch's bytes of the input
	FirstLine, LastLine int   // its lines in the input, for messages
}

// Hash returns the SHA-256 of b.Body, which identifies the batch on resume.
func (b Batch) Hash() [32]byte { return sha256.Sum256(b.Body) }
