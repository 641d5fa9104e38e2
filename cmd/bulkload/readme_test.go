package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestREADMECurlFlow runs the README's curl walk-through against
// 'bulkload serve' and checks each response against the README's comment
// under its command (the parts between "..." must appear in order).
func TestREADMECurlFlow(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- curl-flow:start -->\n```sh\n")
	block, _, ok2 := strings.Cut(block, "```\n<!-- curl-flow:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no curl-flow block")
	}
	serve := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "-q")
	stdout, _ := serve.StdoutPipe()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { serve.Process.Signal(syscall.SIGTERM); serve.Wait() }()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	base := strings.TrimSpace(line[strings.Index(line, "http://"):])
	script := strings.Replace(block, "BASE=http://127.0.0.1:8080", "BASE="+base, 1)

	// Run the commands one by one: each command's output is followed in
	// the README by a comment showing it.
	var cmds, wants []string
	var cur strings.Builder
	for _, l := range strings.Split(script, "\n") {
		switch {
		case strings.HasPrefix(l, "# "):
			cmds = append(cmds, cur.String())
			wants = append(wants, strings.TrimPrefix(l, "# "))
			cur.Reset()
		case l != "":
			cur.WriteString(l + "\n")
		}
	}
	env := ""
	for i, c := range cmds {
		if i == 0 {
			first, rest, _ := strings.Cut(c, "\n")
			env, c = first+"\n", rest
		}
		out, err := exec.Command("bash", "-ec", env+c).Output()
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if !matchesDoc(string(out), wants[i]) {
			t.Errorf("README step %d:\n%s\nprinted %s\nwant (as documented) %s", i+1, c, bytes.TrimSpace(out), wants[i])
		}
	}
}

// matchesDoc reports whether out contains the documented parts of want,
// in order; "..." in want stands for anything.
func matchesDoc(out, want string) bool {
	for _, part := range strings.Split(want, "...") {
		i := strings.Index(out, part)
		if i < 0 {
			return false
		}
		out = out[i+len(part):]
	}
	return true
}
