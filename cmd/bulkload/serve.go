package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
	"github.com/spf13/cobra"
)

func (a *app) serveCommand() *cobra.Command {
	var addr string
	gofs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config := apitest.FlagSet(gofs)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Bulk Jobs API emulator, for testing without an account",
		Long: `serve runs bulkload's emulator of the Salesloft Bulk Jobs API: jobs, job data,
results, the team rate limit and its headers, a background executor, and
faults injected on demand. It listens on loopback unless told otherwise and
logs one line per request.

Point bulkload (or your own code) at it with --base-url or SALESLOFT_BASE_URL.`,
		Example: `  bulkload serve
  bulkload serve --api-key secret --rate-limit 60 --rate-window 10s --process-rate 500
  bulkload serve --fault-error-after-store 0.1 --fault-reset-after-store 0.1 --seed 7

  # in another terminal
  SALESLOFT_BASE_URL=http://127.0.0.1:8080 SALESLOFT_API_KEY=any bulkload run --type person/upsert people.csv`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config()
			if a.g.apiKey != "" {
				cfg.APIKeys = []string{a.g.apiKey}
			}
			cfg.RateLimit, cfg.RateWindow = a.g.rateLimit, a.g.rateWindow
			if !a.g.quiet {
				cfg.Logger = slog.New(slog.NewTextHandler(a.env.Stderr, nil))
			}
			em, err := apitest.New(cfg)
			if err != nil {
				return usageError{err}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				em.Close()
				return fmt.Errorf("serve: %w", err)
			}
			if api.Cleartext("http://" + ln.Addr().String()) {
				fmt.Fprintf(a.env.Stderr, "bulkload: warning: the emulator listens on %s, reachable from other machines\n", ln.Addr())
			}
			fmt.Fprintf(a.env.Stdout, "Bulk Jobs API emulator listening on http://%s\n  export SALESLOFT_BASE_URL=http://%s\n", ln.Addr(), ln.Addr())
			return apitest.Serve(cmd.Context(), ln, em)
		},
	}
	cmd.Flags().StringVar(&a.g.apiKey, "api-key", "", "the only API key the emulator accepts (default: any key)")
	a.budgetFlags(cmd.Flags(), "the team budget the emulator enforces: calls per --rate-window")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen on HOST:PORT (loopback by default; :PORT listens on every interface)")
	cmd.Flags().AddGoFlagSet(gofs)
	return cmd
}
