package sample

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// WriteDemoFile writes n people as JSON Lines to path (mode 0600) for
// `bulkload demo`: every 500th line is malformed (a record the loader
// rejects) and every 97th person lacks the email its upsert key names (a
// record the API fails).
func WriteDemoFile(path string, n int, seed uint64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	g := NewGenerator(seed)
	for i := 1; i <= n; i++ {
		p := g.Next()
		if i%500 == 0 {
			fmt.Fprintf(w, "{\"email_address\": %q, \"first_name\": \n", p.EmailAddress)
			continue
		}
		if i%97 == 0 {
			p.EmailAddress = ""
		}
		b, _ := json.Marshal(p)
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
