package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
	"github.com/spf13/cobra"
)

func (a *app) serveCommand() *cobra.Command {
	var (
		addr       string
		cfg        apitest.Config
		maxBody    int64
		faultRates = map[string]*float64{}
	)
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
			if a.g.apiKey != "" {
				cfg.APIKeys = []string{a.g.apiKey}
			}
			cfg.RateLimit = a.g.rateLimit
			cfg.RateWindow = a.g.rateWindow
			cfg.MaxBodyBytes = maxBody
			f := &cfg.Faults
			f.ErrorBeforeStore = *faultRates["error-before-store"]
			f.ResetBeforeStore = *faultRates["reset-before-store"]
			f.ErrorAfterStore = *faultRates["error-after-store"]
			f.ResetAfterStore = *faultRates["reset-after-store"]
			f.StallAfterStore = *faultRates["stall-after-store"]
			f.ErrorOnGet = *faultRates["error-on-get"]
			f.RateLimitOnGet = *faultRates["429-on-get"]
			if !a.g.quiet {
				cfg.Logger = slog.New(slog.NewTextHandler(a.env.Stderr, nil))
			}
			em, err := apitest.New(cfg)
			if err != nil {
				return usageError{err}
			}
			return a.serve(cmd.Context(), addr, em, em.Close)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", "127.0.0.1:8080", "listen on HOST:PORT (loopback by default; :PORT listens on every interface)")
	fl.Float64Var(&cfg.ProcessRate, "process-rate", apitest.DefaultProcessRate, "records each team's executor finishes per second (negative: as fast as possible)")
	fl.Uint64Var(&cfg.Seed, "seed", 0, "seed of every random choice (errors, ordering, faults)")
	fl.Float64Var(&cfg.ErrorRate, "error-rate", 0, "probability that a record fails with an injected error")
	fl.BoolVar(&cfg.OutOfOrder, "out-of-order", false, "finish records out of id order, some passing through 'retrying'")
	fl.BoolVar(&cfg.RetryAfter, "retry-after", false, "send Retry-After with every 429 (the real API documents none)")
	fl.Int64Var(&maxBody, "max-body-bytes", apitest.DefaultMaxBodyBytes, "largest request body accepted (413 above)")
	fl.DurationVar(&cfg.Faults.Latency, "latency", 0, "latency added to every request")
	fl.DurationVar(&cfg.Faults.Jitter, "jitter", 0, "random extra latency, uniform in [0, jitter)")
	fl.DurationVar(&cfg.Faults.StallDuration, "stall", apitest.DefaultStallDuration, "how long --fault-stall-after-store withholds the answer")
	for _, f := range []struct{ name, help string }{
		{"error-before-store", "probability that a job_data POST gets a 5xx before anything is stored"},
		{"reset-before-store", "probability that a job_data POST's connection is reset before anything is stored"},
		{"error-after-store", "probability that a job_data POST is stored, then answered 5xx"},
		{"reset-after-store", "probability that a job_data POST is stored, then its connection is reset"},
		{"stall-after-store", "probability that a job_data POST is stored, then its answer withheld (--stall)"},
		{"error-on-get", "probability that a GET is answered 5xx"},
		{"429-on-get", "probability that a GET is answered 429"},
	} {
		v := new(float64)
		faultRates[f.name] = v
		fl.Float64Var(v, "fault-"+f.name, 0, f.help)
	}
	return cmd
}

// serve runs h on addr until ctx is done, then shuts down gracefully:
// release (the emulator's Close) first ends the requests it holds back
// (latency, stalls), then the server waits for the rest.
func (a *app) serve(ctx context.Context, addr string, h http.Handler, release func()) error {
	defer release()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // a 64 MiB body over a slow link, not a slowloris
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !isLoopback(host) {
		fmt.Fprintf(a.env.Stderr, "bulkload: warning: the emulator listens on %s, reachable from other machines\n", ln.Addr())
	}
	fmt.Fprintf(a.env.Stdout, "Bulk Jobs API emulator listening on http://%s\n", ln.Addr())
	fmt.Fprintf(a.env.Stdout, "  export SALESLOFT_BASE_URL=http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	release()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err = srv.Shutdown(sctx); errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close() // a client that would not finish: cut it off
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
