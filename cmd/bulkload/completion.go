package main

import (
	"strconv"
	"strings"

	"github.com/bulkload/bulkload/load"
	"github.com/spf13/cobra"
)

// completeValues registers the completion of flag values and job ids on
// every command of root that has them (bulkload completion bash|zsh|fish).
func (a *app) completeValues(root *cobra.Command) {
	values := map[string][]string{
		"type":           load.KnownTypes,
		"format":         {"jsonl", "json", "csv", "tsv"},
		"results-format": {"jsonl", "csv"},
		"state":          {"open", "executing", "done"},
	}
	for _, c := range root.Commands() {
		for name, vs := range values {
			if c.Flags().Lookup(name) != nil {
				c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(vs, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		if strings.Contains(c.Use, "JOB_ID") {
			c.ValidArgsFunction = a.completeJobs
		}
	}
}

// completeJobs offers the ids of the jobs this machine has saved loads of,
// the most recently changed first.
func (a *app) completeJobs(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	dir, err := a.stateDirPath()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ids, _ := load.SavedJobs(dir)
	out := make([]cobra.Completion, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
