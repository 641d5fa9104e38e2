package main

import (
	"os"
	"slices"
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
// newest first.
func (a *app) completeJobs(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	dir, err := a.stateDirPath()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	entries, _ := os.ReadDir(dir)
	var ids []int64
	for _, e := range entries {
		name, _, _ := strings.Cut(e.Name(), "-")
		if id, err := strconv.ParseInt(name, 10, 64); err == nil && e.IsDir() && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	out := make([]cobra.Completion, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
