package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CreateJob creates a bulk job (POST /v2/bulk_jobs). The job starts open.
// Not idempotent: repeating a call that failed ambiguously may create a
// second job.
func (c *Client) CreateJob(ctx context.Context, req CreateJobRequest) (Job, Response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Job{}, Response{}, err
	}
	var job Job
	resp, err := c.call(ctx, "create bulk job", http.MethodPost, "/v2/bulk_jobs", nil, body, &job)
	return job, resp, err
}

// GetJob fetches one bulk job (GET /v2/bulk_jobs/{id}).
func (c *Client) GetJob(ctx context.Context, id int64) (Job, Response, error) {
	var job Job
	resp, err := c.call(ctx, "get bulk job", http.MethodGet, jobPath(id), nil, nil, &job)
	return job, resp, err
}

// UpdateJob changes a job's name and/or marks it ready to execute
// (PUT /v2/bulk_jobs/{id}). Only an open job may be updated; otherwise the
// error satisfies IsJobNotOpen.
func (c *Client) UpdateJob(ctx context.Context, id int64, req UpdateJobRequest) (Job, Response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Job{}, Response{}, err
	}
	var job Job
	resp, err := c.call(ctx, "update bulk job", http.MethodPut, jobPath(id), nil, body, &job)
	return job, resp, err
}

// ListJobs lists bulk jobs in ascending id (GET /v2/bulk_jobs). Page with
// opts.After set to the last id seen; an empty page is the end.
func (c *Client) ListJobs(ctx context.Context, opts ListJobsOptions) ([]Job, Response, error) {
	q := url.Values{}
	setCursor(q, opts.After, opts.PerPage)
	if len(opts.States) > 0 {
		s := make([]string, len(opts.States))
		for i, st := range opts.States {
			s[i] = string(st)
		}
		q.Set("state", strings.Join(s, ","))
	}
	var jobs []Job
	resp, err := c.call(ctx, "list bulk jobs", http.MethodGet, "/v2/bulk_jobs", q, nil, &jobs)
	return jobs, resp, err
}

// CreateJobData uploads one batch of job data
// (POST /v2/bulk_jobs/{id}/job_data). body must be a complete
// {"data":[...]} document of 1 to 5,000 JSON objects, such as a
// chunker.Batch's Body; it is sent as it is. It returns the number of
// records the server says it created.
//
// Not idempotent: if the error satisfies IsAmbiguous the records may have
// been stored, and sending the body again may store them twice.
func (c *Client) CreateJobData(ctx context.Context, jobID int64, body []byte) (int, Response, error) {
	if len(body) == 0 {
		return 0, Response{}, errors.New("api: create job data: empty body")
	}
	var out struct {
		Records *int `json:"records"`
	}
	path := jobPath(jobID) + "/job_data"
	resp, err := c.call(ctx, "create job data", http.MethodPost, path, nil, body, &out)
	if err != nil {
		return 0, resp, err
	}
	if out.Records == nil {
		return 0, resp, &Error{Op: "create job data", Method: http.MethodPost, Path: path,
			RateLimit: resp.RateLimit, Sent: true, Err: fmt.Errorf(`the %d response has no "records" count`, resp.StatusCode)}
	}
	return *out.Records, resp, nil
}

// ListJobData lists a job's records with their current status, in
// ascending id (GET /v2/bulk_jobs/{id}/job_data). It works in every state;
// follow the cursor with opts.After set to the last id seen.
func (c *Client) ListJobData(ctx context.Context, jobID int64, opts ListOptions) ([]Result, Response, error) {
	return c.listRows(ctx, "list job data", jobPath(jobID)+"/job_data", opts)
}

// ListResults lists a done job's records with their outcome, in ascending
// id (GET /v2/bulk_jobs/{id}/results). Until the job is done the API
// answers an empty list.
func (c *Client) ListResults(ctx context.Context, jobID int64, opts ListOptions) ([]Result, Response, error) {
	return c.listRows(ctx, "list results", jobPath(jobID)+"/results", opts)
}

func (c *Client) listRows(ctx context.Context, op, path string, opts ListOptions) ([]Result, Response, error) {
	q := url.Values{}
	setCursor(q, opts.After, opts.PerPage)
	if len(opts.Statuses) > 0 {
		s := make([]string, len(opts.Statuses))
		for i, st := range opts.Statuses {
			s[i] = string(st)
		}
		q.Set("status", strings.Join(s, ","))
	}
	var rows []Result
	resp, err := c.call(ctx, op, http.MethodGet, path, q, nil, &rows)
	return rows, resp, err
}

func setCursor(q url.Values, after int64, perPage int) {
	if after > 0 {
		q.Set("id[gt]", strconv.FormatInt(after, 10))
	}
	if perPage > 0 {
		q.Set("per_page", strconv.Itoa(perPage))
	}
}

func jobPath(id int64) string { return "/v2/bulk_jobs/" + strconv.FormatInt(id, 10) }
