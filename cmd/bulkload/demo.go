package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/internal/sample"
	"github.com/bulkload/bulkload/load"
	"github.com/spf13/cobra"
)

func (a *app) demoCommand() *cobra.Command {
	var (
		dir     string
		records int
		seed    uint64
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole flow against the built-in emulator: no account needed",
		Long: `demo shows what bulkload does without a Salesloft account. It writes a file of
sample people (a few deliberately malformed, some missing the email their
upsert needs: both are refused before upload, with their line), an emulator
that refuses 1% of the rest, starts the Bulk Jobs API emulator in this process with
Salesloft's default budget of 600 calls a minute, and runs 'bulkload run'
against it: check, create, upload, execute, results. The results, the
rejects and the run's state land in --dir.`,
		Example: `  go run ./cmd/bulkload demo
  bulkload demo --records 50000 --dir /tmp/demo`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if records < 1 {
				return usagef("--records %d: want at least 1", records)
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			// Each demo starts a new emulator, whose job 1 is not the job
			// of an earlier demo's files: those are the demo's own to clear.
			for _, pat := range []string{"*-success.jsonl", "*-errors.jsonl", "*-rejects.jsonl"} {
				old, _ := filepath.Glob(filepath.Join(dir, pat))
				for _, f := range old {
					os.Remove(f)
				}
			}
			input := filepath.Join(dir, "people.jsonl")
			if err := sample.WriteDemoFile(input, records, seed); err != nil {
				return err
			}
			srv := apitest.NewServer(apitest.Config{
				APIKeys:     []string{"demo"},
				ProcessRate: 5000,
				Seed:        seed,
				ErrorRate:   0.01, // records the server refuses, for the errors file
			})
			defer srv.Close()
			fmt.Fprintf(a.env.Stderr, "Wrote %d sample people to %s\nEmulator listening on %s (budget 600 calls/min, as Salesloft's default)\n", records, input, srv.URL)
			a.g.apiKey, a.g.baseURL = "demo", srv.URL
			if a.g.stateDir == "" {
				// The demo's own state: each demo starts a new emulator,
				// whose job 1 an earlier demo's state is not of.
				a.g.stateDir = filepath.Join(dir, "state")
				if err := os.RemoveAll(a.g.stateDir); err != nil {
					return fmt.Errorf("demo state: %w", err)
				}
			}
			o := runOpts{
				jobType: "person/upsert", name: "bulkload demo", resultsDir: dir, resultsFormat: "jsonl",
				workers: 4, batchSize: 5000, maxRejects: -1,
			}
			l, c, err := a.loader(o, true)
			if err != nil {
				return err
			}
			var rep load.Report
			err = a.perform(cmd.Context(), l, c, o, func(ctx context.Context) (load.Report, error) {
				rep, err = l.Run(ctx, load.Input{Path: input, BatchSize: o.batchSize, MaxRejects: o.maxRejects},
					load.RunOptions{Type: o.jobType, Name: o.name})
				return rep, err
			})
			if ee, ok := err.(exitError); ok && ee.code == exitPartial {
				// Failures and rejects are what the demo is built to show.
				fmt.Fprintf(a.env.Stderr, "\nThe failed records are in %s, with the reason for each;\nthe malformed input lines in %s.\n", rep.Files.Errors, rep.Files.Rejects)
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&a.g.json, "json", false, "print the summary as one JSON object on stdout")
	cmd.Flags().BoolVarP(&a.g.verbose, "verbose", "v", false, "log each API call to stderr")
	cmd.Flags().StringVar(&dir, "dir", "bulkload-demo", "where the sample input, results and state go")
	cmd.Flags().IntVar(&records, "records", 10000, "how many sample people to load")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the sample data and the emulator")
	return cmd
}
