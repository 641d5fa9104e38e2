package join_test

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bulkload/bulkload/api"
	"github.com/bulkload/bulkload/join"
)

// Index two batches as they are uploaded, seal the index, then tie the
// results, read in id order, to their input lines. The server stored
// batch 1 before batch 0 (two workers) and re-serialized the records.
// Both batches start with the same record, so the first row could be
// either: its line is left empty. The rows after it settle which batch
// moved on.
func Example() {
	dir, _ := os.MkdirTemp("", "join")
	defer os.RemoveAll(dir)

	// At upload time: every batch, with the line each record starts on.
	x, err := join.OpenIndex(filepath.Join(dir, "join.idx"))
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()
	x.Add(0, "people.csv", []byte(`{"data":[{"email_address":"a@x.io"},{"email_address":"b@x.io"}]}`), []int{2, 3})
	x.Add(1, "people.csv", []byte(`{"data":[{"email_address":"a@x.io"},{"email_address":"c@x.io"}]}`), []int{4, 5})
	if err := x.Seal(); err != nil { // every batch is stored
		log.Fatal(err)
	}

	// At results time: every row, in id order.
	r, err := join.NewResolver(x, join.ResolverConfig{})
	if err != nil {
		log.Fatal(err)
	}
	for i, rec := range []string{`{"email_address": "a@x.io"}`, `{"email_address": "c@x.io"}`, `{"email_address": "a@x.io"}`, `{"email_address": "b@x.io"}`} {
		t := r.Resolve(api.Result{ID: int64(i + 1), Record: json.RawMessage(rec)})
		fmt.Printf("row %d: line %d\n", i+1, t.Line)
	}
	st := r.Stats()
	fmt.Printf("%d results, %d without a line\n", st.Results, st.Empty)
	// Output:
	// row 1: line 0
	// row 2: line 5
	// row 3: line 2
	// row 4: line 3
	// 4 results, 1 without a line
}
