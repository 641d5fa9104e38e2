package load_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/load"
)

// Loading a file from ETL code: one budget shared by every call, a state
// directory so that the load survives a crash, results written to files.
// The emulator stands in for https://api.salesloft.com.
func Example() {
	srv := apitest.NewServer(apitest.Config{ProcessRate: apitest.NoLimit})
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, "people.jsonl")
	os.WriteFile(input, []byte(`{"email_address":"ada@example.com","first_name":"Ada","upsert_key":"email_address"}
{"email_address":"grace@example.com","first_name":"Grace","upsert_key":"email_address"}
{"first_name":"Nobody","upsert_key":"email_address"}
`), 0o600)

	team, err := budget.New(budget.Config{Share: 0.5}) // half of the team's 600 calls a minute
	if err != nil {
		log.Fatal(err)
	}
	client, err := api.NewClient(api.Config{APIKey: "ak_example", BaseURL: srv.URL, Budget: team})
	if err != nil {
		log.Fatal(err)
	}
	l, err := load.New(load.Config{
		Client:     client,
		Budget:     team,
		StateDir:   filepath.Join(dir, "state"),   // manifests and locks: what makes it resumable
		ResultsDir: filepath.Join(dir, "results"), // <job>-success.jsonl, <job>-errors.jsonl
	})
	if err != nil {
		log.Fatal(err)
	}
	// Continue: run again after a crash, this continues the same job.
	// MaxRejects -1: records that cannot succeed (the third has none of
	// the fields person/upsert needs) are kept in the rejects file, with
	// their line and reason, and the rest are loaded.
	rep, err := l.Run(context.Background(), load.Input{Path: input, MaxRejects: -1},
		load.RunOptions{Type: "person/upsert", Name: "nightly sync", Continue: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("job %d %s: %d uploaded, %d succeeded, %d failed, %d rejected\n", rep.JobID, rep.State, rep.Uploaded, rep.Succeeded, rep.Failed, rep.Rejected)
	fmt.Println(filepath.Base(rep.Files.Success), filepath.Base(rep.Files.Rejects), rep.Lines.Tied, "result rows name their input line")
	// Output:
	// job 1 done: 2 uploaded, 2 succeeded, 0 failed, 1 rejected
	// 1-success.jsonl 1-rejects.jsonl 2 result rows name their input line
}

// Resuming a load that was interrupted (here by a canceled context; a
// crash or kill -9 leaves the same state): Resume skips what the job
// holds, settles uploads in doubt, and goes on.
func ExampleLoader_Resume() {
	srv := apitest.NewServer(apitest.Config{ProcessRate: apitest.NoLimit})
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, "people.jsonl")
	f, _ := os.Create(input)
	for i := range 1000 {
		fmt.Fprintf(f, `{"email_address":"p%d@example.com","upsert_key":"email_address"}`+"\n", i)
	}
	f.Close()
	client, _ := api.NewClient(api.Config{APIKey: "ak_example", BaseURL: srv.URL})
	ctx, stop := context.WithCancel(context.Background())
	l, _ := load.New(load.Config{Client: client, StateDir: filepath.Join(dir, "state"), ResultsDir: dir,
		Notify: func(e load.Event) {
			if strings.HasPrefix(e.Message, "Created bulk job") {
				stop() // interrupted as soon as the job exists
			}
		}})
	rep, err := l.Run(ctx, load.Input{Path: input, BatchSize: 100}, load.RunOptions{Type: "person/upsert"})
	fmt.Println("interrupted:", errors.Is(err, context.Canceled), "resumable:", rep.Resumable)

	rep, err = l.Resume(context.Background(), rep.JobID, load.ResumeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("job %d %s: %d stored once, %d succeeded\n", rep.JobID, rep.State, len(srv.Records("ak_example", rep.JobID)), rep.Succeeded)
	// Output:
	// interrupted: true resumable: true
	// job 1 done: 1000 stored once, 1000 succeeded
}

// What this machine knows of a job: its state on the server, and each
// saved load of it, with what it stored and what is in doubt.
func ExampleLoader_Status() {
	srv := apitest.NewServer(apitest.Config{ProcessRate: apitest.NoLimit})
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, "people.jsonl")
	os.WriteFile(input, []byte(`{"email_address":"ada@example.com","upsert_key":"email_address"}
{"email_address":"grace@example.com","upsert_key":"email_address"}
`), 0o600)
	client, _ := api.NewClient(api.Config{APIKey: "ak_example", BaseURL: srv.URL})
	l, _ := load.New(load.Config{Client: client, StateDir: filepath.Join(dir, "state"), ResultsDir: dir})
	rep, err := l.Run(context.Background(), load.Input{Path: input}, load.RunOptions{Type: "person/upsert", NoWait: true})
	if err != nil {
		log.Fatal(err)
	}
	st, err := l.Status(context.Background(), rep.JobID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("job %d: %d records\n", st.Job.ID, st.Job.Total)
	for _, s := range st.Saved {
		u := s.Manifest.Upload
		fmt.Printf("saved %s: %d stored, %d in doubt, complete %v, unfinished %v\n", s.Manifest.Run.Command, u.AckedRecords, s.InDoubt(), u.Complete, s.Unfinished())
	}
	// Output:
	// job 1: 2 records
	// saved run: 2 stored, 0 in doubt, complete true, unfinished false
}
