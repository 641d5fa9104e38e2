package uploader

// Batch is the unit the uploader stores. TEMPORARY mirror of chunker.Batch
// until package chunker lands.
type Batch struct {
	Seq                 int
	Records             int
	Body                []byte
	Offset, End         int64
	FirstLine, LastLine int
	Hash                [32]byte
}
