// Command bulkload loads large record files into Salesloft through the Bulk
// Jobs API and streams the per-record results back.
//
// Run "bulkload --help" for the commands, or "bulkload demo" to see the
// whole flow against the embedded emulator.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal stops the run cleanly (in-flight calls finish,
		// state is saved); a second one exits at once.
		<-sigs
		fmt.Fprintln(os.Stderr, "\nbulkload: stopping; press Ctrl-C again to quit at once")
		cancel()
		<-sigs
		if h := interruptHint.Load(); h != nil {
			fmt.Fprintf(os.Stderr, "bulkload: quit at once; what was saved is safe: continue with: %s\n", *h)
		}
		os.Exit(exitInterrupted)
	}()
	code := Main(ctx, os.Args[1:], Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
	})
	cancel()
	os.Exit(code)
}
