package apitest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bulkload/bulkload/api/apitest"
)

// The worked example of the API documentation (S1): create a person/upsert
// job, upload two records for the same email address, mark it ready, wait
// for done and read the results. The second record updates the person the
// first one created.
func Example() {
	srv := apitest.NewServer(apitest.Config{ProcessRate: apitest.NoLimit})
	defer srv.Close()

	call := func(method, path, body string) []byte {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer my-api-key")
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}

	var job struct {
		Data struct {
			ID    int64
			State string
		}
	}
	_ = json.Unmarshal(call("POST", "/v2/bulk_jobs", `{"type":"person/upsert"}`), &job)
	fmt.Println("job", job.Data.ID, job.Data.State)

	path := fmt.Sprintf("/v2/bulk_jobs/%d", job.Data.ID)
	fmt.Printf("%s\n", call("POST", path+"/job_data", `{"data":[
		{"email_address":"test@gmail.com","first_name":"Test","upsert_key":"email_address"},
		{"email_address":"test@gmail.com","first_name":"Test Second Maybe","upsert_key":"email_address"}]}`))

	_ = json.Unmarshal(call("PUT", path, `{"ready_to_execute":true}`), &job)
	fmt.Println("job", job.Data.ID, job.Data.State)
	for job.Data.State != "done" {
		time.Sleep(time.Millisecond)
		_ = json.Unmarshal(call("GET", path, ""), &job)
	}

	var results struct {
		Data []struct {
			ID       int64
			Status   string
			Resource json.RawMessage
		}
	}
	_ = json.Unmarshal(call("GET", path+"/results", ""), &results)
	for _, r := range results.Data {
		fmt.Printf("%d %s %s\n", r.ID, r.Status, r.Resource)
	}
	// Output:
	// job 1 open
	// {"data":{"records":2}}
	// job 1 executing
	// 1 success {"person":{"id":1,"email_address":"test@gmail.com","first_name":"Test","upsert_key":"email_address"},"upsert_type":"create"}
	// 2 success {"person":{"id":1,"email_address":"test@gmail.com","first_name":"Test Second Maybe","upsert_key":"email_address"},"upsert_type":"update"}
}

// New gives the emulator as an http.Handler, to serve under an
// http.Server of one's own, as `bulkload serve` does.
func ExampleNew() {
	em, err := apitest.New(apitest.Config{APIKeys: []string{"key-1"}, RetryAfter: true})
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: em, ReadHeaderTimeout: 10 * time.Second}
	_ = srv // srv.ListenAndServe(); on shutdown: srv.Shutdown(ctx), then em.Close()
	em.Close()
	// Output:
}
