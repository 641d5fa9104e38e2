package apitest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"
)

// FlagSet declares on fs a flag for each setting of Config a person
// running the emulator as a server may want (as `bulkload serve` does):
// --process-rate, --seed, --error-rate, --out-of-order, --retry-after,
// --max-body-bytes, --latency, --jitter, --stall and one --fault-KIND per
// fault probability. Parse fs, then call the returned func to get the
// Config; the budget and keys are left for the caller to set.
func FlagSet(fs *flag.FlagSet) func() Config {
	var cfg Config
	fs.Float64Var(&cfg.ProcessRate, "process-rate", DefaultProcessRate, "records each team's executor finishes per second (negative: as fast as possible)")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of every random choice (errors, ordering, faults)")
	fs.Float64Var(&cfg.ErrorRate, "error-rate", 0, "probability that a record fails with an injected error")
	fs.BoolVar(&cfg.OutOfOrder, "out-of-order", false, "finish records out of id order, some passing through 'retrying'")
	fs.BoolVar(&cfg.RetryAfter, "retry-after", false, "send Retry-After with every 429 (the real API documents none)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", DefaultMaxBodyBytes, "largest request body accepted (413 above)")
	f := &cfg.Faults
	fs.DurationVar(&f.Latency, "latency", 0, "latency added to every request")
	fs.DurationVar(&f.Jitter, "jitter", 0, "random extra latency, uniform in [0, jitter)")
	fs.DurationVar(&f.StallDuration, "stall", DefaultStallDuration, "how long --fault-stall-after-store withholds the answer")
	for _, r := range []struct {
		v          *float64
		name, help string
	}{
		{&f.ErrorBeforeStore, "error-before-store", "probability that a job_data POST gets a 5xx before anything is stored"},
		{&f.ResetBeforeStore, "reset-before-store", "probability that a job_data POST's connection is reset before anything is stored"},
		{&f.ErrorAfterStore, "error-after-store", "probability that a job_data POST is stored, then answered 5xx"},
		{&f.ResetAfterStore, "reset-after-store", "probability that a job_data POST is stored, then its connection is reset"},
		{&f.StallAfterStore, "stall-after-store", "probability that a job_data POST is stored, then its answer withheld (--stall)"},
		{&f.ErrorOnGet, "error-on-get", "probability that a GET is answered 5xx"},
		{&f.RateLimitOnGet, "429-on-get", "probability that a GET is answered 429"},
	} {
		fs.Float64Var(r.v, "fault-"+r.name, 0, r.help)
	}
	return func() Config { return cfg }
}

// Serve serves e on ln until ctx is done, then shuts down gracefully: it
// first closes e, which ends the requests it holds back (latency, stalls),
// then waits up to 10 s for the rest, and cuts off a client that would not
// finish. It closes e however it returns.
func Serve(ctx context.Context, ln net.Listener, e *Emulator) error {
	defer e.Close()
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // a 64 MiB body over a slow link, not a slowloris
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("apitest: serve: %w", err)
	case <-ctx.Done():
	}
	e.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
