// Command mutants checks that the tests keep bulkload's core promises: it
// puts each deliberate bug listed in CONTRIBUTING.md into a scratch copy of
// the work tree, one at a time, runs the tests of the packages that must
// catch it, and prints for each bug the tests that failed ("caught by ...")
// or "SURVIVED".
//
// Usage, from anywhere in the repository:
//
//	go run ./scripts/mutants [-run regexp] [-v]
//
// A bug is a set of exact text replacements in one file. When a
// replacement's text is not found exactly once (the code moved or changed),
// the command says so and exits 2: fix the bug's text here rather than let
// the check pass by not running. It exits 1 when a bug survived.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A mutant is one deliberate bug.
type mutant struct {
	name  string
	file  string      // relative to the repository root
	edits [][2]string // {old, new}: old must occur exactly once
	pkgs  []string    // packages whose tests must catch it
	// timeout bounds the test run; 0 means the -timeout flag. A bug that
	// makes a test hang shows as "timed out" sooner with a shorter one.
	timeout time.Duration
}

var mutants = []mutant{
	{
		name: "blind retry: an upload in doubt is sent again without reconciliation",
		file: "uploader/run.go",
		edits: [][2]string{{
			"\t\tcase api.IsAmbiguous(err):\n",
			"\t\tcase false && api.IsAmbiguous(err):\n",
		}},
		pkgs: []string{"./uploader/"},
	},
	{
		name: "cursor past a non-final row",
		file: "poller/pages.go",
		edits: [][2]string{{
			"\t\tcase !row.Status.Final():\n\t\t\treturn n, true, nil\n",
			"\t\tcase !row.Status.Final():\n\t\t\tcontinue\n",
		}},
		pkgs:    []string{"./poller/"},
		timeout: time.Minute, // the poller's tests take about 5 s
	},
	{
		name: "a call cancelled before it was sent is counted",
		file: "poller/pipeline.go",
		edits: [][2]string{{
			"\treturn err == nil || ctx.Err() == nil ||",
			"\treturn true || err == nil || ctx.Err() == nil ||",
		}},
		pkgs:    []string{"./poller/"},
		timeout: time.Minute,
	},
	{
		name: "a page already sent is dropped",
		file: "poller/flight.go",
		edits: [][2]string{{
			"\tif !f.state.CompareAndSwap(flightWaiting, flightCancelled) {\n\t\treturn false\n\t}\n",
			"\tf.state.Store(flightCancelled)\n",
		}},
		pkgs:    []string{"./poller/"},
		timeout: time.Minute,
	},
	{
		name: "batch over 5,000 records",
		file: "chunker/chunker.go",
		edits: [][2]string{
			{"c.n < c.cfg.MaxRecords &&", "c.n <= c.cfg.MaxRecords &&"},
			{"func (c *Chunker) full() bool { return c.n >= c.cfg.MaxRecords }", "func (c *Chunker) full() bool { return c.n > c.cfg.MaxRecords }"},
		},
		pkgs: []string{"./chunker/"},
	},
	{
		name: "lost last batch: a batch ended by EOF is dropped",
		file: "chunker/chunker.go",
		edits: [][2]string{{
			"if err == nil || (err == io.EOF && c.n > 0) {",
			"if err == nil {",
		}},
		pkgs: []string{"./chunker/"},
	},
	{
		name: "manifest not saved before a batch first goes out",
		file: "uploader/run.go",
		edits: [][2]string{{
			"if r.cp.willSend(b, r.u.workers+1) {",
			"if r.cp.willSend(b, r.u.workers+1) && false {",
		}},
		pkgs: []string{"./uploader/"},
	},
	{
		name: "manifest write not atomic: written in place",
		file: "manifest/manifest.go",
		edits: [][2]string{{
			`tmp, err := os.CreateTemp(dir, ".manifest-*.tmp")`,
			`tmp, err := os.OpenFile(filepath.Join(dir, FileName), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)`,
		}},
		pkgs: []string{"./manifest/", "./uploader/"},
	},
	{
		name: "manifest not fsynced before its rename",
		file: "manifest/manifest.go",
		edits: [][2]string{{
			"\tif err := tmp.Sync(); err != nil {\n\t\treturn fmt.Errorf(\"manifest: flushing: %w\", err)\n\t}\n",
			"",
		}},
		pkgs: []string{"./manifest/", "./uploader/"},
	},
	{
		name: "manifest directory not fsynced after the rename",
		file: "manifest/manifest.go",
		edits: [][2]string{{
			"\tok = true\n\treturn syncDir(dir)\n",
			"\tok = true\n\treturn nil\n",
		}},
		pkgs: []string{"./manifest/", "./uploader/"},
	},
	{
		name: "pacing without the header: x-ratelimit-remaining-minute ignored",
		file: "budget/budget.go",
		edits: [][2]string{{
			"func (b *Budget) repace(now time.Time, remaining int) {\n",
			"func (b *Budget) repace(now time.Time, remaining int) {\n\tif true {\n\t\tb.lim.SetLimitAt(now, b.base)\n\t\treturn\n\t}\n",
		}},
		pkgs: []string{"./budget/", "./uploader/"},
	},
	{
		name: "job lock not held: a second process on the job is let in",
		file: "load/lock.go",
		edits: [][2]string{{
			"\tif !ok {\n\t\tvar h Holder\n",
			"\tif false && !ok {\n\t\tvar h Holder\n",
		}},
		pkgs: []string{"./load/"},
	},
	{
		name: "upload beside an unfinished run of the job",
		file: "load/addto.go",
		edits: [][2]string{{
			"\t\tcase m.Run.Command == \"run\":\n",
			"\t\tcase false && m.Run.Command == \"run\":\n",
		}},
		pkgs: []string{"./load/"},
	},
	{
		name: "a damaged manifest of the job is overlooked",
		file: "load/state.go",
		edits: [][2]string{{
			"\t\t\tdamaged = append(damaged, err)\n",
			"\t\t\t_ = err\n",
		}},
		pkgs: []string{"./load/"},
	},
	{
		name: "results files of another job with the same id replaced",
		file: "load/state.go",
		edits: [][2]string{{
			"\t\tif claimed[p] || !o.holdsResults(p) {\n",
			"\t\tif true || claimed[p] || !o.holdsResults(p) {\n",
		}},
		pkgs: []string{"./load/"},
	},
	{
		name: "results --wait cuts the read of a done job",
		file: "load/results.go",
		edits: [][2]string{{
			"\t\t\t\twaited.Stop() // Wait bounds",
			"\t\t\t\t_ = waited // Wait bounds",
		}},
		pkgs: []string{"./load/"},
	},
	{
		name: "errors-only: a record on two lines given one of them",
		file: "join/lookup.go",
		edits: [][2]string{{
			"\t\t\tcur.file, cur.line = ambiguousFile, 0\n",
			"\t\t\t_ = cur\n",
		}},
		pkgs: []string{"./join/"},
	},
	{
		name: "an upload from standard input leaves the job's index complete",
		file: "load/addto.go",
		edits: [][2]string{{
			"\t\tif stateDir != \"\" {\n\t\t\tif err := markUnindexed(",
			"\t\tif false && stateDir != \"\" {\n\t\t\tif err := markUnindexed(",
		}},
		pkgs: []string{"./load/"},
	},
	{
		name: "retry without the job's lock: two at once load the failures twice",
		file: "load/retry.go",
		edits: [][2]string{{
			"\tif err == nil && stateDir != \"\" {\n\t\to.lock, err = lockJob(stateDir, id, \"retry\")",
			"\tif false && err == nil && stateDir != \"\" {\n\t\to.lock, err = lockJob(stateDir, id, \"retry\")",
		}},
		pkgs: []string{"./load/"},
	},
	{
		name: "a retry's rows name lines of the retry file",
		file: "load/results.go",
		edits: [][2]string{{
			"\t\t\tres, several = from, true\n",
			"\t\t\t_ = from\n",
		}},
		pkgs: []string{"./load/"},
	},
}

func main() {
	run := flag.String("run", "", "only the bugs whose name matches this regexp")
	verbose := flag.Bool("v", false, "print the test output of each bug")
	timeout := flag.Duration("timeout", 5*time.Minute, "time limit of each bug's test run, unless the bug sets its own")
	flag.Parse()
	code, err := check(*run, *verbose, *timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func check(run string, verbose bool, timeout time.Duration) (int, error) {
	match, err := regexp.Compile(run)
	if err != nil {
		return 0, err
	}
	root, err := output(".", "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return 0, err
	}
	root = strings.TrimSpace(root)
	scratch, err := os.MkdirTemp("", "bulkload-mutants-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(scratch)
	if err := copyTree(root, scratch); err != nil {
		return 0, err
	}
	// Every patch must apply before anything runs: a stale one fails loudly.
	for _, m := range mutants {
		if _, err := m.apply(scratch, false); err != nil {
			return 0, err
		}
	}
	survived := 0
	for _, m := range mutants {
		if !match.MatchString(m.name) {
			continue
		}
		restore, err := m.apply(scratch, true)
		if err != nil {
			return 0, err
		}
		limit := timeout
		if m.timeout > 0 {
			limit = m.timeout
		}
		verdict, out := m.test(scratch, limit)
		if err := restore(); err != nil {
			return 0, err
		}
		if verdict == "SURVIVED" {
			survived++
		}
		fmt.Printf("%-66s %s\n", m.name, verdict)
		if verbose {
			os.Stdout.Write(out)
		}
	}
	if survived > 0 {
		return 1, nil
	}
	return 0, nil
}

// apply makes m's edits in dir (when write is set; else it only checks that
// they apply) and returns a function that undoes them.
func (m mutant) apply(dir string, write bool) (restore func() error, err error) {
	path := filepath.Join(dir, m.file)
	orig, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	src := string(orig)
	for _, e := range m.edits {
		if n := strings.Count(src, e[0]); n != 1 {
			return nil, fmt.Errorf("bug %q no longer applies: %s holds %d copies of %q; want 1", m.name, m.file, n, e[0])
		}
		src = strings.Replace(src, e[0], e[1], 1)
	}
	if !write {
		return nil, nil
	}
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		return nil, err
	}
	return func() error { return os.WriteFile(path, orig, 0o644) }, nil
}

var (
	failLine  = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)
	buildFail = regexp.MustCompile(`(?m)^FAIL\s+\S+ \[(build|setup) failed\]`)
	timedOut  = regexp.MustCompile(`(?m)^panic: test timed out after \S+\n\s*running tests:\n((?:\s+\S+ \(.*\)\n)+)`)
)

// test runs m's packages' tests in dir and returns the verdict and output.
func (m mutant) test(dir string, timeout time.Duration) (string, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	args := append([]string{"test", "-count=1", "-timeout", timeout.String()}, m.pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil:
		return "SURVIVED", out
	case buildFail.Match(out):
		return "BROKEN PATCH: the mutant does not build", out
	}
	var names []string
	for _, sm := range failLine.FindAllSubmatch(out, -1) {
		names = append(names, string(sm[1]))
	}
	if m := timedOut.FindSubmatch(out); m != nil {
		var running []string
		for _, l := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
			running = append(running, strings.Fields(l)[0])
		}
		hang := fmt.Sprintf("%s timed out after %v", summarize(running), timeout)
		if len(names) > 0 {
			return "caught by " + summarize(names) + " (and " + hang + ")", out
		}
		return "caught, by a hang: " + hang, out
	}
	if len(names) == 0 {
		return "caught: the test binary failed (" + firstLine(out) + ")", out
	}
	return "caught by " + summarize(names), out
}

// summarize names the failed tests briefly: the deepest failing subtests,
// grouped under their top-level test when more than two of one failed.
func summarize(names []string) string {
	slices.Sort(names)
	names = slices.Compact(names)
	leaves := slices.DeleteFunc(slices.Clone(names), func(n string) bool {
		return slices.ContainsFunc(names, func(o string) bool { return strings.HasPrefix(o, n+"/") })
	})
	var out []string
	for i := 0; i < len(leaves); {
		top, _, _ := strings.Cut(leaves[i], "/")
		j := i + 1
		for j < len(leaves) && strings.HasPrefix(leaves[j], top+"/") {
			j++
		}
		if j-i > 2 {
			out = append(out, fmt.Sprintf("%s (%d subtests)", top, j-i))
		} else {
			out = append(out, leaves[i:j]...)
		}
		i = j
	}
	return strings.Join(out, ", ")
}

func firstLine(b []byte) string {
	for _, l := range bytes.Split(b, []byte("\n")) {
		if s := strings.TrimSpace(string(l)); s != "" && !strings.HasPrefix(s, "ok") {
			return s
		}
	}
	return ""
}

// copyTree copies the repository's tracked and untracked, not ignored,
// files from root to dst: the work tree as it stands, without .git.
func copyTree(root, dst string) error {
	list, err := output(root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return err
	}
	for _, rel := range strings.Split(strings.TrimRight(list, "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := copyFile(src, to, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func output(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}
