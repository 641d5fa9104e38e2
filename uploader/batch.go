package uploader

import "github.com/bulkload/bulkload/chunker"

// Batch is the unit the uploader stores: the chunker's batch, whose Body is
// a {"data":[...]} document of Records records, ready to POST, and whose
// Hash identifies it on resume. A *chunker.Chunker is therefore a Source
// as it is.
type Batch = chunker.Batch
