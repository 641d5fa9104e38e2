package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestREADMEReference: the README's command reference is what --help
// says, command by command (usage, summary and every flag). Regenerate it
// with BULKLOAD_UPDATE_README=1 go test -run TestREADMEReference ./cmd/bulkload.
func TestREADMEReference(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const start, end = "<!-- reference:start -->\n", "<!-- reference:end -->"
	i, j := strings.Index(string(readme), start), strings.Index(string(readme), end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q block", start, end)
	}
	want := reference((&app{env: Env{Getenv: func(string) string { return "" }}}).rootCommand())
	if got := string(readme[i+len(start) : j]); got != want {
		if os.Getenv("BULKLOAD_UPDATE_README") != "" {
			out := string(readme[:i+len(start)]) + want + string(readme[j:])
			if err := os.WriteFile("../../README.md", []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's command reference differs from --help; regenerate it with BULKLOAD_UPDATE_README=1 (want:\n%s)", want)
	}
}

// reference renders every command's usage, summary and flags as --help
// shows them.
func reference(root *cobra.Command) string {
	var b strings.Builder
	// The flags of the commands that call the API are listed once.
	client := pflag.NewFlagSet("client", pflag.ContinueOnError)
	(&app{}).clientFlags(client)
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		own := pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
		shared := false
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if g := client.Lookup(f.Name); g != nil && g.Usage == f.Usage {
				shared = true
				return
			}
			own.AddFlag(f)
		})
		fmt.Fprintf(&b, "**`%s %s`**: %s.", root.Name(), c.Use, c.Short)
		if shared {
			b.WriteString(" Takes the API flags below.")
		}
		b.WriteString("\n\n")
		if f := own.FlagUsages(); f != "" {
			fmt.Fprintf(&b, "```\n%s```\n\n", f)
		}
	}
	fmt.Fprintf(&b, "The API flags, of every command that calls the API:\n\n```\n%s```\n\n", client.FlagUsages())
	fmt.Fprintf(&b, "Every command also takes `-q` (%s) and `-h`; `bulkload --version` prints the version, `bulkload completion bash|zsh|fish` a completion script.\n",
		root.PersistentFlags().Lookup("quiet").Usage)
	return b.String()
}
