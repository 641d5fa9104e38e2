package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/chunker"
	"github.com/bulkload/bulkload/load"
	"github.com/bulkload/bulkload/uploader"
)

// loader builds the library's Loader from the flags: the one client and
// budget of this process, the state directory, and the notes it sends,
// rendered on stderr. Without a key (a dry run) the client is nil.
func (a *app) loader(o runOpts, needClient bool) (*load.Loader, *api.Client, error) {
	cfg := load.Config{
		ResultsDir: o.resultsDir, ResultsFormat: o.resultsFormat, ErrorsOnly: o.errorsOnly,
		Workers: o.workers, ResendUnresolvable: o.resend, Retry: o.retry, Logger: a.logger(), Notify: a.notify,
	}
	if needClient {
		b, err := a.newBudget()
		if err != nil {
			return nil, nil, err
		}
		if cfg.Client, err = a.newClient(b); err != nil {
			return nil, nil, err
		}
		cfg.Budget = b
		if cfg.StateDir, err = a.stateDirPath(); err != nil {
			return nil, nil, err
		}
	}
	l, err := load.New(cfg)
	if err != nil {
		return nil, nil, usageError{err}
	}
	a.cur = l
	return l, cfg.Client, nil
}

// notify renders the library's notes: info unless -q, warnings always.
func (a *app) notify(e load.Event) {
	switch e.Kind {
	case load.Warning:
		fmt.Fprintf(a.env.Stderr, "bulkload: warning: %s\n", e.Message)
	case load.Retry:
		a.info("bulkload: %s\n", e.Message)
	case load.Checked:
		if a.progressOn() && a.cur != nil {
			c := a.cur.Stats().Check
			fmt.Fprintf(a.env.Stderr, "Estimate for %d records: %s (%g of %d calls per %s)\n", c.Records, a.cost(c.Records, c.Batches), a.g.budget, a.g.rateLimit, a.g.rateWindow)
		}
	default:
		a.info("%s\n", e.Message)
	}
}

// perform runs one load operation with progress on a terminal, then
// prints its summary and returns the error that decides the exit code.
func (a *app) perform(ctx context.Context, l *load.Loader, c *api.Client, o runOpts, f func(context.Context) (load.Report, error)) error {
	prog := startProgress(a.env.Stderr, a.progressOn(), func() string { return l.Stats().String() })
	stopHint := keepHint(l, o)
	rep, err := f(ctx)
	stopHint()
	prog.stop()
	interrupted := errors.Is(err, context.Canceled)
	if interrupted && rep.Resumable {
		rep.Resume = continueCommand(rep, o)
	}
	if errors.Is(err, uploader.ErrUnresolvable) && rep.Resumable {
		again := fmt.Sprintf("bulkload resume %d --resend-unresolvable", rep.JobID)
		if rep.Command == "upload" {
			again = fmt.Sprintf("bulkload upload --job %d %s --resend-unresolvable", rep.JobID, shellQuote(rep.Input))
		}
		err = fmt.Errorf("%w (nothing was stored twice; to load the rest anyway, sending these uploads again and so storing the records of them the job already holds a second time: %s)", err, again)
	}
	var unfinished *load.UnfinishedError
	if errors.As(err, &unfinished) {
		err = fmt.Errorf("%w (bulkload resume %d continues it; --new-job starts another job)", err, unfinished.JobID)
	}
	var busy *load.BusyError
	if errors.As(err, &busy) {
		err = fmt.Errorf("%w (bulkload resume %d)", err, busy.JobID)
	}
	var changed *load.InputChangedError
	if errors.As(err, &changed) && rep.Command == "resume" {
		if changed.Missing {
			err = fmt.Errorf("%w (bulkload resume %d --input NEW_PATH)", err, changed.JobID)
		} else {
			err = fmt.Errorf("%w (put the file back as it was and resume again, or load the new file into a new job with run --new-job)", err)
		}
	}
	if err != nil && !interrupted && c != nil && c.Answered() == 0 && load.NoAnswer(err) {
		err = fmt.Errorf("%w (%s never answered: check --base-url or SALESLOFT_BASE_URL, and the network)", err, c.BaseURL())
	}
	if rep.DryRun {
		c := a.cost(rep.Records, rep.Batches)
		rep.Cost = &c
	}
	if err != nil && !interrupted {
		if rep.DryRun && rep.Records+rep.Rejected > 0 {
			err = fmt.Errorf("a real run would stop: %w", err)
		}
		err = explained{explain(err)}
		if rep.Files.Rejects != "" && errors.Is(err, load.ErrNothingToLoad) {
			err = fmt.Errorf("%w; rejected records are in %s", err, rep.Files.Rejects)
		}
		rep.Error = oneLine(err)
	}
	switch {
	case isUsage(err), errors.Is(err, load.ErrLocked), unfinished != nil, busy != nil, changed != nil,
		err != nil && !interrupted && rep.JobID == 0 && !a.g.json && !rep.DryRun:
		// Nothing ran, it failed before a job existed, or it was refused
		// before sending anything: the one line of the error says it all.
	case a.g.json:
		json.NewEncoder(a.env.Stdout).Encode(rep)
	case !a.g.quiet:
		io.WriteString(a.env.Stderr, rep.String())
	}
	switch {
	case interrupted:
		if rep.Resume != "" {
			return exitError{exitInterrupted, fmt.Errorf("interrupted; continue with: %s", rep.Resume)}
		}
		return exitError{exitInterrupted, errors.New("interrupted")}
	case err != nil:
		return err
	case rep.Failed > 0 || rep.Rejected > 0:
		return exitError{code: exitPartial}
	}
	return nil
}

// continueCommand is the command that continues an interrupted operation.
func continueCommand(rep load.Report, o runOpts) string {
	switch rep.Command {
	case "upload":
		line := fmt.Sprintf("bulkload upload --job %d", rep.JobID)
		if o.batchSize != chunker.MaxRecordsLimit {
			line += fmt.Sprintf(" --batch-size %d", o.batchSize)
		}
		if o.format != "" {
			line += " --format " + o.format
		}
		if o.maxRejects != 0 {
			line += fmt.Sprintf(" --max-rejects %d", o.maxRejects)
		}
		return line + " " + shellQuote(rep.Input)
	case "results":
		line := fmt.Sprintf("bulkload results %d", rep.JobID)
		if o.errorsOnly {
			line += " --errors-only"
		}
		if o.resultsFormat != "jsonl" {
			line += " --results-format " + o.resultsFormat
		}
		if wd, err := os.Getwd(); err != nil || wd != absPath(o.resultsDir) {
			line += " --results-dir " + shellQuote(absPath(o.resultsDir))
		}
		return line
	}
	return fmt.Sprintf("bulkload resume %d", rep.JobID)
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>()*?[]{}~!#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cost is the estimated cost of loading records in batches under this
// command's budget flags.
func (a *app) cost(records, batches int64) load.Cost {
	return load.EstimateCost(records, batches, a.g.rateLimit, a.g.rateWindow, a.g.budget, 0.05)
}

// interruptHint is the command that continues the operation under way,
// once its job is known: main prints it when a second Ctrl-C quits at once.
var interruptHint atomic.Pointer[string]

// keepHint keeps interruptHint up to date until the returned func is called.
func keepHint(l *load.Loader, o runOpts) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if s := l.Stats(); s.JobID != 0 && s.Phase != "" {
				h := continueCommand(load.Report{Command: s.Command, JobID: s.JobID, Input: s.Source}, o)
				interruptHint.Store(&h)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait(); interruptHint.Store(nil) }
}
