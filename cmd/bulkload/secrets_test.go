package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/api/apitest"
)

// runMain runs the command in-process with exactly env, checking that
// nothing it prints holds a secret or a stack trace.
func runMain(t *testing.T, ctx context.Context, env map[string]string, secrets []string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(ctx, args, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	for _, s := range secrets {
		if strings.Contains(out.String()+errb.String(), s) {
			t.Errorf("%v: the API key %q appears in the output:\n%s\n%s", args, s, out.String(), errb.String())
		}
	}
	if strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic") {
		t.Errorf("%v: stack trace or panic on stderr:\n%s", args, errb.String())
	}
	return result{code, out.String(), errb.String()}
}

// TestSecretsStayOut runs a verbose run through faults (so calls are
// retried, reconciled and logged), with rejects and failed records, then
// the other commands that read the job, and a refused key: the key is in
// no output, no log line and no file written, and every file written is
// 0600 in directories of 0700.
func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	const key = "ak_live_SECRET_5f3c9a0e7d1b"
	const wrong = "ak_live_WRONG_0e9d8c7b6a5f"
	srv := apitest.NewServer(apitest.Config{
		APIKeys: []string{key}, ProcessRate: apitest.NoLimit, Seed: 3,
		Faults: apitest.Faults{ErrorAfterStore: 0.2, ResetAfterStore: 0.1, ErrorOnGet: 0.1, RateLimitOnGet: 0.1},
	})
	t.Cleanup(srv.Close)
	root := t.TempDir()
	state, results := filepath.Join(root, "state"), filepath.Join(root, "results")
	env := map[string]string{"SALESLOFT_API_KEY": key, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": state}
	in := writePeople(t, 600, func(i int) bool { return i%50 == 0 })
	f, _ := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("[1,2]\n") // one reject
	f.Close()
	secrets := []string{key, wrong}

	r := runMain(t, context.Background(), env, nil, "run", "-v", "--type", "person/upsert", "--batch-size", "100",
		"--max-rejects", "1", "--results-dir", results, "--json", "--rate-limit", "100000", "--rate-window", "1s", in)
	if r.code != exitPartial {
		t.Fatalf("run: exit %d; want 3\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, key) {
		t.Errorf("run -v shows the API key")
	}
	if !strings.Contains(r.stderr, "path=/v2/bulk_jobs") {
		t.Errorf("run -v logged no calls:\n%.2000s", r.stderr)
	}
	// A listing call's log line has its cursor and page size.
	if !regexp.MustCompile(`path="/v2/bulk_jobs/\d+/job_data\?[^"]*per_page=100`).MatchString(r.stderr) {
		t.Errorf("run -v logged no query strings:\n%.2000s", r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	id := jobIDString(s.JobID)
	for _, args := range [][]string{
		{"status", "-v", id},
		{"jobs", "-v"},
		{"results", "-v", id, "--results-dir", results},
		{"resume", "-v", id},
	} {
		r := runMain(t, context.Background(), env, secrets, args...)
		// status and jobs make one attempt: an injected fault fails them.
		if r.code != exitOK && r.code != exitPartial && !strings.Contains(r.stderr, "injected fault") {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	bad := map[string]string{"SALESLOFT_API_KEY": wrong, "SALESLOFT_BASE_URL": srv.URL, "XDG_STATE_HOME": state}
	if r := runMain(t, context.Background(), bad, secrets, "run", "-v", "--type", "person/upsert", in); r.code != exitFailed {
		t.Errorf("a refused key: exit %d; want 1", r.code)
	}
	down := map[string]string{"SALESLOFT_API_KEY": key, "SALESLOFT_BASE_URL": "http://127.0.0.1:1", "XDG_STATE_HOME": state}
	if r := runMain(t, context.Background(), down, secrets, "status", "-v", "1"); r.code != exitFailed {
		t.Errorf("no server: exit %d; want 1", r.code)
	}

	// Every file bulkload wrote: no key, mode 0600; every directory 0700.
	n := 0
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		st, _ := d.Info()
		switch {
		case path == root || path == filepath.Dir(in):
		case d.IsDir():
			if st.Mode().Perm() != 0o700 {
				t.Errorf("%s: mode %v; want 0700", path, st.Mode().Perm())
			}
		default:
			n++
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v; want 0600", path, st.Mode().Perm())
			}
			b, _ := os.ReadFile(path)
			if bytes.Contains(b, []byte(key)) || bytes.Contains(b, []byte(wrong)) {
				t.Errorf("%s holds the API key", path)
			}
		}
		return nil
	})
	if n < 4 { // manifest, success, errors, rejects
		t.Errorf("found %d files; want the manifest and the three results files", n)
	}
}

// TestTLSIsVerified: the client verifies the server's certificate, so a
// server with a self-signed one is refused with a certificate error before
// any request (and the key) is sent. No code turns verification off.
func TestTLSIsVerified(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write([]byte(`{"data":{}}`))
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes fail on purpose
	ts.StartTLS()
	t.Cleanup(ts.Close)

	c, err := api.NewClient(api.Config{APIKey: testKey, BaseURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.GetJob(context.Background(), 1)
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	if !errors.As(err, &unknown) && !errors.As(err, &verify) {
		t.Errorf("GetJob from a self-signed server: %v; want a certificate verification error", err)
	}

	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": ts.URL, "XDG_STATE_HOME": t.TempDir()}
	r := runMain(t, context.Background(), env, []string{testKey}, "status", "1")
	if r.code != exitFailed || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("status against a self-signed server: exit %d, %q; want 1 and a certificate error", r.code, r.stderr)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the self-signed server got %d requests; want none", n)
	}

	// And nothing in the module turns verification off.
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("InsecureSkipVerify")) {
			t.Errorf("%s sets InsecureSkipVerify", path)
		}
		return nil
	})
}

// TestNoKeyOnRedirect: a redirect to another host does not carry the API
// key there.
func TestNoKeyOnRedirect(t *testing.T) {
	t.Parallel()
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"who are you"}`))
	}))
	t.Cleanup(other.Close)
	// other listens on 127.0.0.1; "localhost" names it as another host.
	target := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	env := map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": redirect.URL, "XDG_STATE_HOME": t.TempDir()}
	r := runMain(t, context.Background(), env, []string{testKey}, "status", "1")
	if r.code != exitFailed {
		t.Errorf("status through a redirect: exit %d; want 1\n%s", r.code, r.stderr)
	}
	got, ok := leaked.Load().(string)
	if !ok {
		t.Fatalf("the redirect was not followed; the test proves nothing\n%s", r.stderr)
	}
	if strings.Contains(got, testKey) {
		t.Errorf("the other host got Authorization %q; want no key", got)
	}
}

// TestPlainHTTPWarning: a plain-http base URL warns unless it is this
// machine.
func TestPlainHTTPWarning(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		base string
		warn bool
	}{
		{"http://api.example.com", true},
		{"http://10.0.0.7:8080", true},
		{"http://localhost.example.com", true},
		{"http://127.0.0.1.nip.io", true},
		{"http://[2001:db8::1]:80", true},
		{"https://api.example.com", false},
		{"http://localhost:8080", false},
		{"http://127.0.0.1:8080", false},
		{"http://127.1.2.3", false},
		{"http://[::1]:8080", false},
		{"", false}, // the default is https
	} {
		var errb bytes.Buffer
		a := &app{env: Env{Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"SALESLOFT_API_KEY": testKey, "SALESLOFT_BASE_URL": tt.base}[k]
		}}}
		if _, err := a.newClient(nil); err != nil {
			t.Fatalf("newClient(%q): %v", tt.base, err)
		}
		if got := strings.Contains(errb.String(), "warning"); got != tt.warn {
			t.Errorf("base URL %q: warning %v (%q); want %v", tt.base, got, errb.String(), tt.warn)
		}
		if strings.Contains(errb.String(), testKey) {
			t.Errorf("the warning shows the key: %q", errb.String())
		}
	}
}

// TestServeLoopback: serve listens on loopback by default, and says so
// when told to listen elsewhere.
func TestServeLoopback(t *testing.T) {
	t.Parallel()
	a := &app{env: Env{Stderr: &bytes.Buffer{}, Stdout: &bytes.Buffer{}}}
	def := a.serveCommand().Flags().Lookup("addr").DefValue
	if api.Cleartext("http://" + def) {
		t.Errorf("serve --addr defaults to %q; want a loopback address", def)
	}
	for _, tt := range []struct {
		addr string
		warn bool
	}{{"127.0.0.1:0", false}, {"0.0.0.0:0", true}} {
		out, errb := &syncBuffer{}, &syncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() { done <- Main(ctx, []string{"serve", "-q", "--addr", tt.addr}, Env{Stdout: out, Stderr: errb}) }()
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "listening") && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("serve %s: exit %d\n%s", tt.addr, code, errb.String())
		}
		if got := strings.Contains(errb.String(), "reachable from other machines"); got != tt.warn {
			t.Errorf("serve %s: warning %v (%q); want %v", tt.addr, got, errb.String(), tt.warn)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
