package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
	"github.com/bulkload/bulkload/internal/sample"
)

// The harness runs the real command, as users run it: it builds
// ./cmd/bulkload once per test process, writes sample inputs to files, starts
// an in-process emulator (apitest.Server) and runs
//
//	bulkload --json run --type person/upsert ... FILE
//
// as a child process against it. The run's figures come from three places
// that do not depend on each other: the --json summary (what the command
// says it did), the emulator's Stats (what the server saw, by endpoint) and
// the child's resource usage (peak RSS from getrusage, through a spawner:
// see spawnEnv; peak heap from the runtime's GODEBUG=gctrace=1 lines on its
// stderr).
//
// BULKLOAD_BENCH_LOG=DIR runs the command with -v and keeps each run's
// stderr (every API call with its timing, the poller's sleeps, the GC
// trace) in DIR/<benchmark name>.log, to see where a run's time went.

// sharedDir holds the binary and the input files of this test process; it
// is removed when the process ends.
var sharedDir string

func TestMain(m *testing.M) {
	if rssFile := os.Getenv(spawnEnv); rssFile != "" {
		os.Exit(spawn(rssFile, os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "bulkload-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// spawnEnv, set to a file name, makes this test binary a spawner: it runs
// its arguments as a command and writes the command's peak RSS to the
// file.
//
// The spawner exists because on Linux a child's ru_maxrss is never below
// the RSS its parent had when it started it: the child is started with
// vfork semantics, and exec folds the high-water mark of the address space
// it leaves (the parent's) into the child's. The parent here is the
// benchmark process, which holds every record the emulator stored, so the
// child's own ru_maxrss would report the emulator. A fresh spawner has a
// small address space of its own, so its child's ru_maxrss is the child's.
const spawnEnv = "BULKLOAD_BENCH_SPAWN"

func spawn(rssFile string, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "spawn: no command")
		return 1
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, spawnEnv+"=") {
			env = append(env, kv)
		}
	}
	// The heap trace is the child's alone: the spawner's own GCs, if any,
	// would print to the same stderr.
	cmd.Env = append(env, "GODEBUG=gctrace=1")
	floor := selfHWM()
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "spawn:", err)
		return 1
	}
	kib, _ := maxRSS(cmd.ProcessState)
	if err := os.WriteFile(rssFile, fmt.Appendf(nil, "%d %d", kib, floor), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "spawn:", err)
		return 1
	}
	return cmd.ProcessState.ExitCode()
}

// selfHWM is this process's peak RSS in KiB from /proc/self/status (VmHWM),
// or 0 where there is none.
func selfHWM() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// benchFull reports whether the heaviest sizes (10M records) run:
// BULKLOAD_BENCH_FULL=1, and not -short.
func benchFull() bool {
	return os.Getenv("BULKLOAD_BENCH_FULL") == "1" && !testing.Short()
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// bulkloadBinary builds the command once per process and returns its path.
func bulkloadBinary(b *testing.B) string {
	b.Helper()
	binaryOnce.Do(func() {
		// go test puts its own GOROOT/bin first in the test's PATH.
		goCmd, err := exec.LookPath("go")
		if err != nil {
			binaryErr = fmt.Errorf("finding the go command: %v", err)
			return
		}
		binaryPath = filepath.Join(sharedDir, "bulkload")
		cmd := exec.Command(goCmd, "build", "-o", binaryPath, "github.com/bulkload/bulkload/cmd/bulkload")
		if out, err := cmd.CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("go build ./cmd/bulkload: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		b.Fatal(binaryErr)
	}
	return binaryPath
}

var (
	inputMu    sync.Mutex
	inputFiles = map[int]string{}
)

// inputFile returns a JSON Lines file of n sample people (seed 7), written
// once per process and size.
func inputFile(b *testing.B, n int) string {
	b.Helper()
	inputMu.Lock()
	defer inputMu.Unlock()
	if path, ok := inputFiles[n]; ok {
		return path
	}
	path := filepath.Join(sharedDir, fmt.Sprintf("people-%d.jsonl", n))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	err = sample.WriteJSONL(f, n, sample.Options{Seed: 7})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	inputFiles[n] = path
	return path
}

// runSummary is the part of the command's --json summary the benchmarks read.
type runSummary struct {
	JobID     int64  `json:"job_id"`
	Succeeded int64  `json:"succeeded"`
	Failed    int64  `json:"failed"`
	APICalls  int64  `json:"api_calls"`
	Error     string `json:"error"`
}

// runSpec is one run of the command against a fresh emulator.
type runSpec struct {
	records    int
	errorsOnly bool
	emulator   apitest.Config // Seed and ErrorRate are set by the caller
	limit      int            // --rate-limit
	window     time.Duration  // --rate-window
}

// runOutcome is what one run did, from the summary, the emulator and the
// child process.
type runOutcome struct {
	sum  runSummary
	wall time.Duration // from start to exit of the child

	// What the emulator saw: every call, then by kind (the rest are
	// create and ready), and the calls it answered 429.
	calls, uploads, pages, jobPolls, limited int64

	rssKiB  int64   // peak resident set of the child; 0 if unknown
	heapMiB float64 // peak heap of the child from gctrace; 0 if no GC ran
}

// runCommand runs `bulkload run` once as spec says, through a spawner (see
// spawnEnv), and checks that the job holds every record and the results
// files every wanted result, once. Only the child's run is timed.
func runCommand(b *testing.B, spec runSpec) runOutcome {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	bin := bulkloadBinary(b)
	input := inputFile(b, spec.records)
	srv := apitest.NewServer(spec.emulator)
	defer srv.Close()
	state, results := b.TempDir(), b.TempDir()
	args := []string{"--json", "--rate-limit", strconv.Itoa(spec.limit), "--rate-window", spec.window.String(),
		"--budget", "1", "run", "--type", "person/upsert", "--results-dir", results}
	if spec.errorsOnly {
		args = append(args, "--errors-only")
	}
	logDir := os.Getenv("BULKLOAD_BENCH_LOG")
	if logDir != "" {
		args = append([]string{"-v"}, args...)
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	rssFile := filepath.Join(state, "rss")
	cmd := exec.Command(self, append(append([]string{bin}, args...), input)...)
	cmd.Env = append(os.Environ(), "SALESLOFT_API_KEY="+benchKey, "SALESLOFT_BASE_URL="+srv.URL,
		"XDG_STATE_HOME="+state, spawnEnv+"="+rssFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	b.StartTimer()
	start := time.Now()
	err = cmd.Run()
	var out runOutcome
	out.wall = time.Since(start)
	b.StopTimer()
	if cmd.ProcessState == nil {
		b.Fatal(err)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 && code != 3 { // 3: some records failed
		b.Fatalf("bulkload run: %v\n%s", err, tail(stderr.Bytes(), 2000))
	}
	if err := json.Unmarshal(stdout.Bytes(), &out.sum); err != nil {
		b.Fatalf("bulkload run --json: %v in %q", err, stdout.Bytes())
	}
	s := &out.sum
	job, _ := srv.Job(benchKey, s.JobID)
	wantRows := job.Total
	if spec.errorsOnly {
		wantRows = job.Errors
	}
	if s.Error != "" || job.State != "done" || job.Total != int64(spec.records) || s.Failed != job.Errors ||
		s.Succeeded+s.Failed != job.Total || checkRows(b, results) != wantRows {
		b.Fatalf("run ended %s with %q: job %d holds %d records, %d errors; summary says %d succeeded, %d failed; want %d records, each result once",
			job.State, s.Error, s.JobID, job.Total, job.Errors, s.Succeeded, s.Failed, spec.records)
	}
	st := srv.Stats()
	out.limited = st.RateLimited
	for ep, n := range st.Requests {
		out.calls += n
		switch ep {
		case apitest.EndpointCreateJobData:
			out.uploads += n
		case apitest.EndpointListJobData, apitest.EndpointListResults:
			out.pages += n
		case apitest.EndpointGetJob:
			out.jobPolls += n
		}
	}
	if out.calls != s.APICalls {
		b.Fatalf("the emulator answered %d calls; the summary's api_calls is %d", out.calls, s.APICalls)
	}
	if rss, err := os.ReadFile(rssFile); err == nil {
		var floor int64
		fmt.Sscan(string(rss), &out.rssKiB, &floor)
		if out.rssKiB <= floor {
			b.Logf("peak RSS %d KiB is the spawner's own (%d KiB): the command's is at most that", out.rssKiB, floor)
		}
	}
	out.heapMiB = peakHeap(stderr.Bytes())
	if logDir != "" {
		name := filepath.Join(logDir, strings.NewReplacer("/", "_", "=", "-").Replace(b.Name())+".log")
		if err := os.WriteFile(name, stderr.Bytes(), 0o644); err != nil {
			b.Log(err)
		}
	}
	return out
}

// checkRows reads the results files in dir and returns how many rows they
// hold, failing b unless every row's result id is distinct: a result
// written twice (and one missing, so that the count still matches) fails.
// Rows are JSON Lines that begin {"id":N, (poller.JSONLines).
func checkRows(b *testing.B, dir string) int64 {
	b.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*-*.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(`{"id":`))
			end := bytes.IndexByte(rest, ',')
			if !ok || end < 0 {
				b.Fatalf("%s: row %d does not begin with its id: %.80q", name, len(ids)+1, sc.Bytes())
			}
			id, err := strconv.ParseInt(string(rest[:end]), 10, 64)
			if err != nil {
				b.Fatalf("%s: row %d: id: %v", name, len(ids)+1, err)
			}
			ids = append(ids, id)
		}
		if err := sc.Err(); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		f.Close()
	}
	slices.Sort(ids)
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			b.Fatalf("result %d is in the results files more than once", ids[i])
		}
	}
	return int64(len(ids))
}

// gcLine matches the heap sizes of a gctrace line: "..., 12->14->6 MB, ...":
// the heap when the cycle started, when it ended, and what stayed live.
var gcLine = regexp.MustCompile(`, (\d+)->(\d+)->(\d+) MB,`)

// peakHeap is the largest heap, in MiB, any GC cycle of the child saw.
func peakHeap(stderr []byte) float64 {
	peak := 0
	for _, m := range gcLine.FindAllSubmatch(stderr, -1) {
		for _, g := range m[1:3] {
			if v, err := strconv.Atoi(string(g)); err == nil {
				peak = max(peak, v)
			}
		}
	}
	return float64(peak)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
