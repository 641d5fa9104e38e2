package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/budget"
	"github.com/bulkload/bulkload/load"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Env is what the command reads from its process: streams and environment.
// Tests drive Main with their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// globals are the flags every command shares.
type globals struct {
	apiKey     string
	baseURL    string
	stateDir   string
	rateLimit  int
	rateWindow time.Duration
	budget     float64
	json       bool
	quiet      bool
	verbose    bool
}

// app is one invocation of the command.
type app struct {
	env Env
	g   globals
	log *slog.Logger // see logger
	cur *load.Loader // the Loader of the command, for notes that read its Stats
}

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = eofReader{}
	}
	a := &app{env: env}
	root := a.rootCommand()
	root.SetArgs(hoist(args))
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err != nil && !isUsage(err) && isCobraUsage(err) {
		err = usageError{err}
	}
	return exitCode(err, env.Stderr)
}

// hoist moves the API and output flags given before the command name to
// after it, so that "bulkload --json --budget 1 run FILE", as scripts wrote
// it when these flags were global, still works now that each command
// declares only the flags it uses.
func hoist(args []string) []string {
	valued := map[string]bool{"--api-key": true, "--base-url": true, "--state-dir": true, "--budget": true,
		"--rate-limit": true, "--rate-window": true}
	bools := map[string]bool{"--json": true, "--verbose": true, "-v": true, "--quiet": true, "-q": true}
	var moved []string
	i := 0
	for i < len(args) {
		name, _, hasValue := strings.Cut(args[i], "=")
		switch {
		case valued[name] && !hasValue && i+1 < len(args):
			moved = append(moved, args[i], args[i+1])
			i += 2
			continue
		case valued[name] || bools[name]:
			moved = append(moved, args[i])
			i++
			continue
		}
		break
	}
	if len(moved) == 0 || i == len(args) || strings.HasPrefix(args[i], "-") {
		return args // nothing moved, or no command after: cobra says what is wrong
	}
	return append(append(append([]string{}, args[i]), moved...), args[i+1:]...)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "bulkload",
		Short: "Load large record files into Salesloft through the Bulk Jobs API",
		Long: `bulkload loads CSV, JSON Lines and JSON files of any size into Salesloft
through its Bulk Jobs API, within the team's rate limit, storing every record
exactly once, and streams each record's result back to files.

Try it without an account:   bulkload demo
Load a file:                 SALESLOFT_API_KEY=... bulkload run --type person/upsert people.csv`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().BoolVarP(&a.g.quiet, "quiet", "q", false, "no progress and no summary on stderr")
	root.Version = buildVersion()
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return a.checkFlags(cmd) }
	for _, c := range []*cobra.Command{a.runCommand(), a.resumeCommand(), a.uploadCommand(), a.resultsCommand(), a.retryCommand(),
		a.createCommand(), a.readyCommand(), a.statusCommand(), a.jobsCommand()} {
		a.clientFlags(c.Flags())
		root.AddCommand(c)
	}
	root.AddCommand(a.serveCommand(), a.demoCommand())
	a.completeValues(root)
	return root
}

// clientFlags declares the flags of the commands that call the API: the
// key, where the API is, the team's budget and this run's share of it,
// the state directory, and the output.
func (a *app) clientFlags(f *pflag.FlagSet) {
	f.StringVar(&a.g.apiKey, "api-key", "", "Salesloft API key (default $SALESLOFT_API_KEY)")
	f.StringVar(&a.g.baseURL, "base-url", "", "API base URL (default $SALESLOFT_BASE_URL or "+api.DefaultBaseURL+")")
	f.StringVar(&a.g.stateDir, "state-dir", "", "where manifests and job locks are kept (default $XDG_STATE_HOME/bulkload or ~/.local/state/bulkload)")
	f.Float64Var(&a.g.budget, "budget", budget.DefaultShare, "the share of the team's budget this run may use, in (0,1]")
	a.budgetFlags(f, "the team's API budget: calls per --rate-window")
	f.BoolVar(&a.g.json, "json", false, "print the result as JSON on stdout")
	f.BoolVarP(&a.g.verbose, "verbose", "v", false, "log each API call to stderr, with its query")
}

// budgetFlags declares --rate-limit and --rate-window.
func (a *app) budgetFlags(f *pflag.FlagSet, limitHelp string) {
	f.IntVar(&a.g.rateLimit, "rate-limit", budget.DefaultLimit, limitHelp)
	f.DurationVar(&a.g.rateWindow, "rate-window", budget.DefaultWindow, "the period of the team's API budget")
}

// checkFlags refuses the global flags' values that mean nothing, naming
// the flag, in every command that takes them.
func (a *app) checkFlags(cmd *cobra.Command) error {
	has := func(name string) bool { return cmd.Flags().Lookup(name) != nil }
	switch {
	case has("rate-limit") && a.g.rateLimit < 1:
		return usagef("--rate-limit %d: want the team's budget, in calls per --rate-window (Salesloft's default: 600)", a.g.rateLimit)
	case has("rate-window") && a.g.rateWindow <= 0:
		return usagef("--rate-window %s: want a positive duration (Salesloft's default: 1m)", a.g.rateWindow)
	case has("budget") && !(a.g.budget > 0 && a.g.budget <= 1):
		return usagef("--budget %g: want the share of the team's budget this run may use, more than 0 and at most 1 (such as 0.8)", a.g.budget)
	}
	return nil
}

// buildVersion is the module version the binary was built from, with the
// VCS revision when the build recorded one.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}

// logger is the -v call log, or nil. It is one logger, so that the client,
// uploader and poller, logging from many goroutines, write to stderr one
// line at a time under its lock: Env.Stderr need not be safe for
// concurrent use.
func (a *app) logger() *slog.Logger {
	if !a.g.verbose {
		return nil
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(a.env.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return a.log
}

// newBudget is the one budget every call of this process shares.
func (a *app) newBudget() (*budget.Budget, error) {
	b, err := budget.New(budget.Config{Limit: a.g.rateLimit, Window: a.g.rateWindow, Share: a.g.budget})
	if err != nil {
		return nil, usageError{err}
	}
	return b, nil
}

// newClient builds the API client from flags and environment.
func (a *app) newClient(b *budget.Budget) (*api.Client, error) {
	cfg := api.Config{APIKey: a.g.apiKey, BaseURL: a.g.baseURL, UserAgent: "bulkload/" + version, Logger: a.logger()}
	cfg.FromEnv(a.env.Getenv)
	if cfg.APIKey == "" {
		return nil, usagef("no API key: set %s or pass --api-key", api.EnvAPIKey)
	}
	if api.Cleartext(cfg.BaseURL) {
		fmt.Fprintf(a.env.Stderr, "bulkload: warning: %s is plain http to a host that is not this machine; the API key crosses the network unencrypted\n", cfg.BaseURL)
	}
	if b != nil {
		cfg.Budget = b
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// stateDirPath is --state-dir, else load.DefaultStateDir.
func (a *app) stateDirPath() (string, error) {
	if dir := a.g.stateDir; dir != "" {
		return dir, nil
	}
	return load.DefaultStateDir(a.env.Getenv)
}

// progressOn reports whether live progress goes to stderr: only on a
// terminal, and never with -q.
func (a *app) progressOn() bool {
	if a.g.quiet {
		return false
	}
	f, ok := a.env.Stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func parseJobID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%q is not a job id (a positive integer)", s)
	}
	return id, nil
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// info tells a person on stderr what is going on (a job created, a read
// continued); -q silences it. Warnings and errors are not info.
func (a *app) info(format string, args ...any) {
	if !a.g.quiet {
		fmt.Fprintf(a.env.Stderr, format, args...)
	}
}
