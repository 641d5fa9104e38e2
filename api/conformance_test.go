package api_test

// Conformance: every endpoint and every row of spec section 11, driven
// through the typed client against the emulator.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
)

const key = "ak_conformance"

func setup(t *testing.T, cfg apitest.Config) (*apitest.Server, *api.Client) {
	t.Helper()
	if cfg.APIKeys == nil {
		cfg.APIKeys = []string{key}
	}
	srv := apitest.NewServer(cfg)
	t.Cleanup(srv.Close)
	c, err := api.NewClient(api.Config{APIKey: key, BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func body(records ...string) []byte {
	return []byte(`{"data":[` + strings.Join(records, ",") + `]}`)
}

func wantStatus(t *testing.T, err error, status int, field string) {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v; want *api.Error with status %d", err, status)
	}
	if e.StatusCode != status {
		t.Fatalf("status = %d (%v); want %d", e.StatusCode, err, status)
	}
	if field != "" {
		if _, ok := e.Fields[field]; !ok {
			t.Fatalf("Fields = %v; want a %q entry", e.Fields, field)
		}
	} else if status != 422 && e.Message == "" {
		t.Errorf(`%d without an {"error": "..."} message`, status)
	}
	if !e.RateLimit.Known {
		t.Errorf("%d without rate-limit headers", status)
	}
}

func TestFlowS1(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, apitest.Config{ProcessRate: apitest.NoLimit})
	job, resp, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		t.Fatal(err)
	}
	if job.State != api.StateOpen || job.ReadyToExecute || job.Total != 0 || job.Name != nil ||
		job.CreatedAt == nil || job.MarkedReadyAt != nil || job.StartedAt != nil || job.FinishedAt != nil || job.Scopes == nil {
		t.Errorf("new job = %+v; want open, not ready, total 0, null name and timestamps, scopes []", job)
	}
	if resp.StatusCode != 200 || resp.RateLimit.Cost != 1 || !resp.RateLimit.Known {
		t.Errorf("create response = %+v; want 200 with cost 1", resp)
	}
	n, _, err := c.CreateJobData(ctx, job.ID, body(
		`{"email_address":"test@gmail.com","first_name":"Test","upsert_key":"email_address"}`,
		`{"email_address":"test@gmail.com","first_name":"Test Second Maybe","upsert_key":"email_address"}`))
	if err != nil || n != 2 {
		t.Fatalf("CreateJobData = %d, %v; want 2", n, err)
	}
	got, _, err := c.GetJob(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != 2 || got.State != api.StateOpen {
		t.Errorf("after upload: total %d state %s; want 2 open (total visible while open)", got.Total, got.State)
	}
	ready := true
	up, _, err := c.UpdateJob(ctx, job.ID, api.UpdateJobRequest{ReadyToExecute: &ready})
	if err != nil {
		t.Fatal(err)
	}
	if up.State != api.StateExecuting || !up.ReadyToExecute || up.MarkedReadyAt == nil {
		t.Errorf("after PUT ready: %+v; want executing, ready, marked_ready_at set", up)
	}
	rows, _, err := c.ListResults(ctx, job.ID, api.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.GetJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	} else if got.State != api.StateDone && len(rows) != 0 {
		t.Errorf("results before done = %d rows; want none", len(rows))
	}
	if j := waitDone(t, c, job.ID); j.Processed != 2 || j.StartedAt == nil || j.FinishedAt == nil {
		t.Errorf("done job = %+v; want processed 2, started_at and finished_at set", j)
	}
	rows, _, err = c.ListResults(ctx, job.ID, api.ListOptions{PerPage: 100})
	if err != nil || len(rows) != 2 {
		t.Fatalf("ListResults = %d rows, %v; want 2", len(rows), err)
	}
	for i, r := range rows {
		if r.Status != api.StatusSuccess || r.Error != nil || !strings.Contains(string(r.Resource), `"person"`) {
			t.Errorf("row %d = %+v; want success with a person resource and null error", i, r)
		}
	}
	if !strings.Contains(string(rows[0].Resource), `"create"`) || !strings.Contains(string(rows[1].Resource), `"update"`) {
		t.Errorf("upsert types = %s / %s; want create then update (same email)", rows[0].Resource, rows[1].Resource)
	}
	if rows[0].ID >= rows[1].ID {
		t.Errorf("row ids %d, %d; want ascending", rows[0].ID, rows[1].ID)
	}
	if recs := srv.Records(key, job.ID); len(recs) != 2 || string(recs[0]) != string(rows[0].Record) {
		t.Errorf("stored records %q; want the two uploaded, echoed as uploaded (%s)", recs, rows[0].Record)
	}
}

func TestSection11Errors(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, apitest.Config{ProcessRate: apitest.NoLimit})
	open, _, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert", Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if open.Name == nil || *open.Name != "n" {
		t.Errorf("name = %v; want n", open.Name)
	}
	closed, _, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateJobData(ctx, closed.ID, body(`{"email_address":"a@b.c"}`)); err != nil {
		t.Fatal(err)
	}
	ready := true
	if _, _, err := c.UpdateJob(ctx, closed.ID, api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		t.Fatal(err)
	}
	bad, _ := api.NewClient(api.Config{APIKey: "wrong", BaseURL: srv.URL})
	big := make([]string, 5001)
	for i := range big {
		big[i] = `{"a":1}`
	}
	tests := []struct {
		name   string
		call   func() error
		status int
		field  string
	}{
		{"401 wrong key", func() error { _, _, err := bad.GetJob(ctx, open.ID); return err }, 401, ""},
		{"404 get", func() error { _, _, err := c.GetJob(ctx, 999999); return err }, 404, ""},
		{"404 update", func() error {
			_, _, err := c.UpdateJob(ctx, 999999, api.UpdateJobRequest{ReadyToExecute: &ready})
			return err
		}, 404, ""},
		{"404 job data", func() error { _, _, err := c.CreateJobData(ctx, 999999, body(`{}`)); return err }, 404, ""},
		{"404 list job data", func() error { _, _, err := c.ListJobData(ctx, 999999, api.ListOptions{}); return err }, 404, ""},
		{"404 results", func() error { _, _, err := c.ListResults(ctx, 999999, api.ListOptions{}); return err }, 404, ""},
		{"422 type missing", func() error { _, _, err := c.CreateJob(ctx, api.CreateJobRequest{}); return err }, 422, "type"},
		{"422 type unknown", func() error { _, _, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "nope/upsert"}); return err }, 422, "type"},
		{"malformed JSON body", func() error { _, _, err := c.CreateJobData(ctx, open.ID, []byte(`{"data":[{"a":`)); return err }, 400, ""},
		{"422 data missing", func() error { _, _, err := c.CreateJobData(ctx, open.ID, []byte(`{}`)); return err }, 422, "data"},
		{"422 data empty", func() error { _, _, err := c.CreateJobData(ctx, open.ID, body()); return err }, 422, "data"},
		{"422 data over 5000", func() error { _, _, err := c.CreateJobData(ctx, open.ID, body(big...)); return err }, 422, "data"},
		{"422 data item not object", func() error { _, _, err := c.CreateJobData(ctx, open.ID, body(`{"a":1}`, `[1]`)); return err }, 422, "data"},
		{"422 job data on non-open job", func() error { _, _, err := c.CreateJobData(ctx, closed.ID, body(`{}`)); return err }, 422, "state"},
		{"422 PUT on non-open job", func() error {
			_, _, err := c.UpdateJob(ctx, closed.ID, api.UpdateJobRequest{ReadyToExecute: &ready})
			return err
		}, 422, "state"},
		{"422 per_page 0 is default, 101 is not", func() error { _, _, err := c.ListJobData(ctx, open.ID, api.ListOptions{PerPage: 101}); return err }, 422, ""},
		{"422 status filter", func() error {
			_, _, err := c.ListJobData(ctx, open.ID, api.ListOptions{Statuses: []api.Status{"cancelled"}})
			return err
		}, 422, ""},
		{"422 state filter", func() error {
			_, _, err := c.ListJobs(ctx, api.ListJobsOptions{States: []api.State{"queued"}})
			return err
		}, 422, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantStatus(t, tt.call(), tt.status, tt.field) })
	}
	if j, _ := srv.Job(key, open.ID); j.Total != 0 {
		t.Errorf("open job total = %d after refused uploads; want 0 (all or nothing)", j.Total)
	}
	if _, _, err := c.CreateJobData(ctx, closed.ID, body(`{}`)); !api.IsJobNotOpen(err) {
		t.Errorf("IsJobNotOpen(%v) = false", err)
	}
}

func TestListsAndCursor(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, apitest.Config{ProcessRate: apitest.NoLimit})
	var ids []int64
	for i := range 3 {
		j, _, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert", Name: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	jobs, _, err := c.ListJobs(ctx, api.ListJobsOptions{After: ids[0], PerPage: 1})
	if err != nil || len(jobs) != 1 || jobs[0].ID != ids[1] {
		t.Fatalf("ListJobs(after %d, 1) = %v, %v; want job %d", ids[0], jobs, err, ids[1])
	}
	jobs, _, err = c.ListJobs(ctx, api.ListJobsOptions{States: []api.State{api.StateOpen, api.StateDone}})
	if err != nil || len(jobs) != 3 {
		t.Errorf("ListJobs(open,done) = %d jobs, %v; want 3", len(jobs), err)
	}
	recs := make([]string, 250)
	for i := range recs {
		if i%10 == 0 {
			recs[i] = fmt.Sprintf(`{"first_name":"n%d"}`, i) // no key: an error row
		} else {
			recs[i] = fmt.Sprintf(`{"email_address":"p%d@x.io"}`, i)
		}
	}
	if _, _, err := c.CreateJobData(ctx, ids[0], body(recs...)); err != nil {
		t.Fatal(err)
	}
	// Default page 25, cursor walks ascending ids, every status pending while open.
	var after int64
	var seen int
	for page := 0; ; page++ {
		if page > 250/25 {
			t.Fatalf("the cursor walk is still going after %d pages of 25 for 250 rows", page)
		}
		rows, _, err := c.ListJobData(ctx, ids[0], api.ListOptions{After: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			break
		}
		if len(rows) > 25 {
			t.Fatalf("default page = %d rows; want ≤ 25", len(rows))
		}
		for _, r := range rows {
			if r.ID <= after || r.Status != api.StatusPending {
				t.Fatalf("row %+v after cursor %d; want ascending, pending", r, after)
			}
			after = r.ID
			seen++
		}
	}
	if seen != 250 {
		t.Errorf("cursor walk saw %d rows; want 250", seen)
	}
	ready := true
	if _, _, err := c.UpdateJob(ctx, ids[0], api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		t.Fatal(err)
	}
	if j := waitDone(t, c, ids[0]); j.Errors != 25 {
		t.Errorf("errors = %d; want 25", j.Errors)
	}
	rows, _, err := c.ListResults(ctx, ids[0], api.ListOptions{PerPage: 100, Statuses: []api.Status{api.StatusError}})
	if err != nil || len(rows) != 25 {
		t.Fatalf("error results = %d, %v; want 25", len(rows), err)
	}
	for _, r := range rows {
		if r.Error == nil || r.Resource != nil && string(r.Resource) != "null" {
			t.Errorf("error row %+v; want an error message and null resource", r)
		}
	}
}

func TestBudgetHeadersAnd429(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, apitest.Config{RateLimit: 3, RateWindow: time.Hour, RetryAfter: true})
	var last int
	for i := range 3 {
		_, resp, err := c.ListJobs(ctx, api.ListJobsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.RateLimit.Cost != 1 || resp.RateLimit.Remaining != 2-i {
			t.Errorf("call %d: %+v; want cost 1, remaining %d", i, resp.RateLimit, 2-i)
		}
		last = resp.RateLimit.Remaining
	}
	_, resp, err := c.ListJobs(ctx, api.ListJobsOptions{})
	if !api.IsRateLimited(err) || !api.IsRetryable(err) || api.IsAmbiguous(err) {
		t.Fatalf("4th call = %v; want a retryable, unambiguous 429", err)
	}
	if resp.RateLimit.Remaining != 0 || last != 0 || resp.RetryAfter <= 0 {
		t.Errorf("429 response = %+v; want remaining 0 and Retry-After", resp)
	}
}

func TestExecutionOneJobAtATime(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, apitest.Config{ProcessRate: 200})
	ready := true
	var ids []int64
	for range 2 {
		j, _, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.CreateJobData(ctx, j.ID, body(`{"email_address":"a@b.c"}`, `{"email_address":"b@b.c"}`, `{"email_address":"c@b.c"}`)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.UpdateJob(ctx, j.ID, api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	poll(t, "waiting for the second job", func() (bool, error) {
		// Read the second job first: done is terminal, so if the first
		// job is still not done afterwards, it was not done when the
		// second was read either. The other order races with the
		// executor finishing the first job between the two reads.
		b, _, err := c.GetJob(ctx, ids[1])
		if err != nil {
			return false, err
		}
		a, _, err := c.GetJob(ctx, ids[0])
		if err != nil {
			return false, err
		}
		if b.Processed > 0 && a.State != api.StateDone {
			t.Fatalf("second job processing (%d) while the first is %s", b.Processed, a.State)
		}
		if a.State != api.StateDone && b.State != api.StateExecuting {
			t.Fatalf("waiting job state %s; want executing (no queued state exists)", b.State)
		}
		return b.State == api.StateDone, nil
	})
}

// waitDone polls job id until it is done and returns it.
func waitDone(t *testing.T, c *api.Client, id int64) api.Job {
	t.Helper()
	var j api.Job
	poll(t, fmt.Sprintf("waiting for job %d to be done", id), func() (bool, error) {
		var err error
		j, _, err = c.GetJob(context.Background(), id)
		return j.State == api.StateDone, err
	})
	return j
}

// poll calls f every few milliseconds until it reports done. It fails t at
// f's first error, or when f is still not done after 10 s, so that a broken
// emulator fails fast instead of hanging to the test binary's timeout. The
// bound guards against a hang; it is not a speed requirement.
func poll(t *testing.T, what string, f func() (done bool, err error)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		done, err := f()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not done after 10 s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
