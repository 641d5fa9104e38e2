package load

// Report is what an operation did, counted as the job and this machine's
// saved state know it: the CLI prints it as the run's summary (and, with
// --json, as one object of these fields).
type Report struct {
	Command string `json:"command"`
	JobID   int64  `json:"job_id,omitempty"`
	State   string `json:"state,omitempty"` // the job's state as last read
	Input   string `json:"input,omitempty"`
	// RetryOf is the job whose failed records a Retry loaded again.
	RetryOf  int64 `json:"retry_of,omitempty"`
	Records  int64 `json:"records"`  // valid records read from the input
	Batches  int64 `json:"batches"`  // batches the input makes
	Bytes    int64 `json:"bytes"`    // bytes of request bodies
	Uploaded int64 `json:"uploaded"` // records stored in the job by this load and earlier ones
	// Sent is the records this operation itself stored: zero for an
	// upload run again that found everything stored already.
	Sent      int64 `json:"sent"`
	Rejected  int64 `json:"rejected"` // input records refused before upload
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
	// Written is the result rows this operation wrote to the results files.
	Written int64 `json:"results_written"`
	// Lines counts the rows written with the input line of their record
	// (Tied) and without (Unknown: the tie was not certain, or there was no
	// index to tie by: standard input, an upload not complete). Errors-only
	// reads tie by content (join.Lookup): a row whose record is on more
	// than one line of the job's inputs is Unknown. With an index, a read
	// that continued an interrupted one counts the earlier read's rows too.
	Lines struct {
		Tied    int64 `json:"tied"`
		Unknown int64 `json:"unknown"`
	} `json:"lines"`
	APICalls    int64 `json:"api_calls"`
	Retries     int64 `json:"retries"`
	RateLimited int64 `json:"rate_limited"`
	Reconciled  int64 `json:"reconciled"`
	// InDoubt is the records of uploads whose outcome is not known yet
	// (sent, no answer, not reconciled): a resume settles them.
	InDoubt        int64   `json:"in_doubt,omitempty"`
	Duplicates     int64   `json:"duplicates,omitempty"` // records stored twice by ResendUnresolvable
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	DryRun         bool    `json:"dry_run,omitempty"`
	ErrorsOnly     bool    `json:"errors_only,omitempty"`
	Interrupted    bool    `json:"interrupted,omitempty"`
	// Resumable reports that the saved state of this operation lets it be
	// continued (by Resume, or by the same Upload or Results again).
	Resumable bool `json:"resumable,omitempty"`
	Files     struct {
		Success string `json:"success,omitempty"`
		Errors  string `json:"errors,omitempty"`
		Rejects string `json:"rejects,omitempty"`
	} `json:"files"`
	// Cost is what the load costs of the team's budget, for a dry run
	// (set by the caller, which knows the budget: EstimateCost).
	Cost   *Cost  `json:"cost,omitempty"`
	Resume string `json:"resume,omitempty"` // set by the CLI: the command that continues this run
	Error  string `json:"error,omitempty"`  // set by the CLI
}
