package uploader_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/poller"
	"github.com/bulkload/bulkload/uploader"
)

// This is how ETL code embeds bulkload: one budget shared by every call,
// the chunker feeding the uploader, the poller streaming results. The
// emulator stands in for https://api.salesloft.com.
func Example_etl() {
	srv := apitest.NewServer(apitest.Config{ProcessRate: apitest.NoLimit})
	defer srv.Close()
	ctx := context.Background()

	team, err := budget.New(budget.Config{Share: 0.5}) // half of the team's 600 calls a minute
	if err != nil {
		log.Fatal(err)
	}
	client, err := api.NewClient(api.Config{APIKey: "ak_example", BaseURL: srv.URL, Budget: team})
	if err != nil {
		log.Fatal(err)
	}

	input := strings.NewReader(`{"email_address":"ada@example.com","first_name":"Ada","upsert_key":"email_address"}
{"email_address":"grace@example.com","first_name":"Grace","upsert_key":"email_address"}
{"first_name":"Nobody","upsert_key":"email_address"}
`)
	batches, err := chunker.New(input, chunker.Config{Source: "people.jsonl"})
	if err != nil {
		log.Fatal(err)
	}
	job, _, err := client.CreateJob(ctx, api.CreateJobRequest{Type: "person/upsert", Name: "nightly sync"})
	if err != nil {
		log.Fatal(err)
	}
	up, err := uploader.New(uploader.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := up.Upload(ctx, job.ID, batches); err != nil {
		log.Fatal(err)
	}
	ready := true
	if _, _, err := client.UpdateJob(ctx, job.ID, api.UpdateJobRequest{ReadyToExecute: &ready}); err != nil {
		log.Fatal(err)
	}

	p, err := poller.New(client, poller.Config{})
	if err != nil {
		log.Fatal(err)
	}
	stats, err := p.Run(ctx, job.ID, func(r api.Result) error {
		if r.Status == api.StatusError {
			fmt.Printf("record %d failed: %s: %s\n", r.ID, *r.Error, r.Record)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("job %s: %d results, %d errors\n", stats.State, stats.Delivered, stats.DeliveredErrors)
	// Output:
	// record 3 failed: Missing required field: email address: {"first_name":"Nobody","upsert_key":"email_address"}
	// job done: 3 results, 1 errors
}
