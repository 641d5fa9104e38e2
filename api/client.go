package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultBaseURL is the Salesloft API's base URL.
const DefaultBaseURL = "https://api.salesloft.com"

// DefaultTimeout bounds each call when Config.HTTPClient is nil.
const DefaultTimeout = 2 * time.Minute

// maxResponseBytes caps how much of a response body is read: a page of 100
// rows of large records fits many times over.
const maxResponseBytes = 256 << 20

// Budget paces calls against the team's rate limit. Wait is called before
// every attempt and Observe after every attempt that got a response (429s
// and other failures included). Package budget implements it.
type Budget interface {
	Wait(ctx context.Context) error
	Observe(Response)
}

// Config configures a Client. The zero value of each field is its default.
type Config struct {
	// APIKey is sent as "Authorization: Bearer APIKey". Required.
	APIKey string
	// BaseURL is the API's base URL; empty means DefaultBaseURL. A path
	// prefix is kept: "http://127.0.0.1:8080/proxy" is fine.
	BaseURL string
	// HTTPClient makes the requests; nil means a client with DefaultTimeout
	// and a transport that keeps enough idle connections for parallel
	// uploads. Its Timeout bounds each attempt.
	HTTPClient *http.Client
	// Budget, if set, is consulted before and told after every attempt.
	Budget Budget
	// UserAgent is sent as User-Agent; empty means "bulkload".
	UserAgent string
	// Logger, if set, gets one debug line per call (method, path with its
	// query, status, duration, remaining budget). The API key is never
	// logged.
	Logger *slog.Logger
}

// Client calls the Bulk Jobs API. Create it with NewClient; it is safe for
// concurrent use.
type Client struct {
	key      string
	base     string // scheme://host[/prefix], no trailing slash
	http     *http.Client
	budget   Budget
	agent    string
	log      *slog.Logger
	calls    atomic.Int64
	answered atomic.Int64
	limited  atomic.Int64
}

// NewClient checks cfg and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("api: no API key (set SALESLOFT_API_KEY or pass one)")
	}
	if strings.ContainsAny(cfg.APIKey, "\r\n") {
		return nil, errors.New("api: the API key contains a line break")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api: base URL %q is not an http(s) URL with a host", base)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("api: base URL %q must not have a query or fragment", base)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout, Transport: DefaultTransport()}
	}
	agent := cfg.UserAgent
	if agent == "" {
		agent = "bulkload"
	}
	return &Client{
		key:    cfg.APIKey,
		base:   strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"),
		http:   hc,
		budget: cfg.Budget,
		agent:  agent,
		log:    cfg.Logger,
	}, nil
}

// DefaultTransport returns a new transport like http.DefaultTransport but
// keeping up to 64 idle connections per host, so parallel workers reuse
// their connections instead of opening new ones.
func DefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 128
	return t
}

// BaseURL returns the base URL the client calls.
func (c *Client) BaseURL() string { return c.base }

// Calls returns how many HTTP attempts the client has made.
func (c *Client) Calls() int64 { return c.calls.Load() }

// Answered returns how many attempts got an HTTP response, of any status.
// Zero after a failed call means the server was never reached: most often
// a wrong base URL or no network, rather than a passing fault.
func (c *Client) Answered() int64 { return c.answered.Load() }

// RateLimited returns how many attempts were answered 429.
func (c *Client) RateLimited() int64 { return c.limited.Load() }

// call is one HTTP attempt. body, if non-nil, is sent as JSON; out, if
// non-nil, receives the "data" member of a 2xx answer.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, body []byte, out any) (Response, error) {
	fail := func(resp Response, status int, sent bool, err error) (Response, error) {
		return resp, &Error{Op: op, Method: method, Path: path, StatusCode: status, Sent: sent, Err: err}
	}
	if c.budget != nil {
		if err := c.budget.Wait(ctx); err != nil {
			return fail(Response{}, 0, false, err)
		}
	}
	u, logPath := c.base+path, path
	if len(query) > 0 {
		u += "?" + encodeQuery(query)
		logPath += "?" + encodeQuery(query)
	}
	var rdr io.Reader
	if body != nil {
		rdr = bytes.NewReader(body)
	}
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, u, rdr)
	if err != nil {
		return fail(Response{}, 0, false, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	start := time.Now()
	c.calls.Add(1)
	hresp, err := c.http.Do(req)
	if err != nil {
		resp := Response{Duration: time.Since(start)}
		c.logCall(ctx, method, logPath, resp, err)
		return fail(resp, 0, sent.Load(), scrubURLError(err))
	}
	defer hresp.Body.Close()
	c.answered.Add(1)
	data, readErr := io.ReadAll(io.LimitReader(hresp.Body, maxResponseBytes))
	resp := Response{
		StatusCode: hresp.StatusCode,
		RateLimit:  parseRateLimit(hresp.Header),
		RetryAfter: parseRetryAfter(hresp.Header.Get("Retry-After"), time.Now()),
		Duration:   time.Since(start),
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		c.limited.Add(1)
	}
	if c.budget != nil {
		c.budget.Observe(resp)
	}
	c.logCall(ctx, method, logPath, resp, readErr)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Op: op, Method: method, Path: path, StatusCode: resp.StatusCode,
			RateLimit: resp.RateLimit, RetryAfter: resp.RetryAfter, Sent: true, Err: readErr}
		decodeErrorBody(data, e)
		return resp, e
	}
	if readErr != nil {
		// A 2xx whose body was cut short: the call took effect, but its
		// answer was lost. For a POST that is as ambiguous as a reset.
		return resp, &Error{Op: op, Method: method, Path: path, RateLimit: resp.RateLimit,
			Sent: true, Err: fmt.Errorf("reading the %d response: %w", resp.StatusCode, readErr)}
	}
	if out != nil {
		if err := decodeData(data, out); err != nil {
			return resp, &Error{Op: op, Method: method, Path: path, RateLimit: resp.RateLimit,
				Sent: true, Err: fmt.Errorf("decoding the %d response: %w", resp.StatusCode, err)}
		}
	}
	return resp, nil
}

// decodeData decodes the "data" member of a {"data": ...} envelope into out.
// The envelope is split first, so the page's rows are decoded once.
func decodeData(body []byte, out any) error {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return err
	}
	if len(env.Data) == 0 {
		return errors.New(`the response has no "data" member`)
	}
	return json.Unmarshal(env.Data, out)
}

// decodeErrorBody fills Message and Fields from {"error": "..."} or
// {"errors": {...}}; anything else is left as it is.
func decodeErrorBody(data []byte, e *Error) {
	var body struct {
		Error  any                 `json:"error"`
		Errors map[string][]string `json:"errors"`
	}
	if json.Unmarshal(data, &body) != nil {
		// The errors member may be another shape (such as a list); keep the
		// message at least.
		var loose struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &loose) == nil {
			e.Message = loose.Error
		}
		return
	}
	if s, ok := body.Error.(string); ok {
		e.Message = s
	}
	if len(body.Errors) > 0 {
		e.Fields = body.Errors
	}
}

func parseRateLimit(h http.Header) RateLimit {
	cost, err1 := strconv.Atoi(strings.TrimSpace(h.Get("x-ratelimit-endpoint-cost")))
	rem, err2 := strconv.Atoi(strings.TrimSpace(h.Get("x-ratelimit-remaining-minute")))
	if err1 != nil || err2 != nil {
		return RateLimit{}
	}
	return RateLimit{Cost: cost, Remaining: rem, Known: true}
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// encodeQuery encodes q with the brackets of id[gt] and status[] kept
// readable; values are escaped.
func encodeQuery(q url.Values) string {
	return strings.NewReplacer("%5B", "[", "%5D", "]").Replace(q.Encode())
}

// scrubURLError drops the *url.Error wrapper, whose text repeats the full
// URL, and keeps the cause.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *Client) logCall(ctx context.Context, method, path string, r Response, err error) {
	if c.log == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method), slog.String("path", path),
		slog.Int("status", r.StatusCode), slog.Duration("duration", r.Duration),
	}
	if r.RateLimit.Known {
		attrs = append(attrs, slog.Int("remaining", r.RateLimit.Remaining))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "api call", attrs...)
}

// The environment variables Config.FromEnv reads.
const (
	EnvAPIKey  = "SALESLOFT_API_KEY"
	EnvBaseURL = "SALESLOFT_BASE_URL"
)

// FromEnv fills the empty APIKey and BaseURL from the environment variables
// EnvAPIKey and EnvBaseURL, as getenv (os.Getenv, or a test's) reads them.
func (c *Config) FromEnv(getenv func(string) string) {
	if c.APIKey == "" {
		c.APIKey = getenv(EnvAPIKey)
	}
	if c.BaseURL == "" {
		c.BaseURL = getenv(EnvBaseURL)
	}
}

// Cleartext reports whether a client of baseURL sends the API key
// unencrypted across a network: plain http to a host other than this
// machine's loopback.
func Cleartext(baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
