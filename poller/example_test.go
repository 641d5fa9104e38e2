package poller_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/poller"
)

// Stream a job's results into two CSV files, saving the cursor and the
// files' offsets after every page so that a stopped poll can resume.
func Example() {
	srv := apitest.NewServer(apitest.Config{ProcessRate: 5000})
	defer srv.Close()
	team, _ := budget.New(budget.Config{}) // the one budget, shared with the uploader
	client, _ := api.NewClient(api.Config{APIKey: "ak_example", BaseURL: srv.URL, HTTPClient: srv.Client(), Budget: team})
	ctx := context.Background()
	jobID := exampleJob(ctx, client, 250) // every 10th record lacks its email address

	dir, _ := os.MkdirTemp("", "results")
	defer os.RemoveAll(dir)
	files, err := poller.CreateFiles(poller.FilesConfig{
		Format:  poller.CSV,
		Success: filepath.Join(dir, "success.csv"),
		Errors:  filepath.Join(dir, "errors.csv"),
		// The input's columns, in order; join.Resolver.Line would give
		// each row its input line (Line: resolver.Line).
		Columns: []string{"email_address", "first_name", "upsert_key"},
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := poller.New(client, poller.Config{
		MinInterval: 20 * time.Millisecond,
		Progress: func(s poller.Stats) {
			if err := files.Flush(); err == nil {
				_ = files.Offsets() // save with s.Cursor in the run's manifest
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	st, err := p.Run(ctx, jobID, files.Write)
	if cerr := files.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d results, %d errors, cursor %d\n", st.Delivered, st.DeliveredErrors, st.Cursor)
	errorsCSV, _ := os.ReadFile(filepath.Join(dir, "errors.csv"))
	for _, line := range strings.SplitN(string(errorsCSV), "\n", 4)[:3] {
		fmt.Println(line)
	}
	// Output:
	// 250 results, 25 errors, cursor 250
	// _line,_id,_status,_error,_resource_id,_upsert_type,email_address,first_name,upsert_key
	// ,10,error,Missing required field: email address,,,,P9,
	// ,20,error,Missing required field: email address,,,,P19,
}

// exampleJob creates a person/upsert job of n records, every 10th without
// an email address, and marks it ready.
func exampleJob(ctx context.Context, c *api.Client, n int) int64 {
	job, _, err := c.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert"})
	if err != nil {
		log.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%10 == 9 {
			fmt.Fprintf(&b, `{"first_name":"P%d"}`, i)
		} else {
			fmt.Fprintf(&b, `{"email_address":"p%d@example.com","first_name":"P%d","upsert_key":"email_address"}`, i, i)
		}
	}
	b.WriteString(`]}`)
	if _, _, err := c.CreateJobData(ctx, job.ID, b.Bytes()); err != nil {
		log.Fatal(err)
	}
	ready := true
	if _, _, err := c.UpdateJob(ctx, job.ID, api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		log.Fatal(err)
	}
	return job.ID
}
