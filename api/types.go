package api

import (
	"encoding/json"
	"time"
)

// State is the state of a bulk job: open, executing or done.
type State string

// The states of a bulk job, in the order a job passes through them.
const (
	StateOpen      State = "open"      // accepts job data and updates
	StateExecuting State = "executing" // marked ready; running or waiting its turn
	StateDone      State = "done"      // every record processed; results readable
)

// Status is the status of one job-data record.
type Status string

// The statuses of a job-data record. Only StatusSuccess and StatusError are
// final; a record may pass through StatusRetrying on its way to one of them.
const (
	StatusPending  Status = "pending"
	StatusSuccess  Status = "success"
	StatusError    Status = "error"
	StatusRetrying Status = "retrying"
)

// Final reports whether s is a final status (success or error).
func (s Status) Final() bool { return s == StatusSuccess || s == StatusError }

// MaxRecordsPerUpload is the most records one job-data call may carry.
const MaxRecordsPerUpload = 5000

// MaxPerPage is the largest per_page the list endpoints accept.
const MaxPerPage = 100

// Job is a bulk job as the API returns it. Timestamps not yet set are nil.
type Job struct {
	ID             int64      `json:"id"`
	Name           *string    `json:"name"`
	Type           string     `json:"type"`
	State          State      `json:"state"`
	ReadyToExecute bool       `json:"ready_to_execute"`
	Total          int64      `json:"total"`
	Processed      int64      `json:"processed"`
	Errors         int64      `json:"errors"`
	Scopes         []string   `json:"scopes"`
	CreatedAt      *time.Time `json:"created_at"`
	UpdatedAt      *time.Time `json:"updated_at"`
	MarkedReadyAt  *time.Time `json:"marked_ready_at"`
	StartedAt      *time.Time `json:"started_at"`
	FinishedAt     *time.Time `json:"finished_at"`
}

// Result is one job-data row: a record as uploaded and, once it is final, its
// outcome. Record and Resource hold the raw JSON the server sent.
type Result struct {
	ID       int64           `json:"id"`
	Status   Status          `json:"status"`
	Record   json.RawMessage `json:"record"`
	Resource json.RawMessage `json:"resource"`
	Error    *string         `json:"error"`
}

// CreateJobRequest is the body of POST /v2/bulk_jobs.
type CreateJobRequest struct {
	Type string `json:"type"`           // required, such as "person/upsert"
	Name string `json:"name,omitempty"` // optional
}

// UpdateJobRequest is the body of PUT /v2/bulk_jobs/{id}. Nil fields are
// left out of the request and so left unchanged.
type UpdateJobRequest struct {
	Name           *string `json:"name,omitempty"`
	ReadyToExecute *bool   `json:"ready_to_execute,omitempty"`
}

// ListJobsOptions are the query parameters of GET /v2/bulk_jobs.
type ListJobsOptions struct {
	After   int64   // id[gt]: only jobs with a larger id; 0 = from the start
	PerPage int     // 1..100; 0 = the server's default (25)
	States  []State // filter; empty = every state
}

// ListOptions are the query parameters of the two job-data listings.
type ListOptions struct {
	After    int64    // id[gt]: only rows with a larger id; 0 = from the start
	PerPage  int      // 1..100; 0 = the server's default (25)
	Statuses []Status // filter; empty = every status
}
