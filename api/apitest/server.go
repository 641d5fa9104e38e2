package apitest

import (
	"net/http"
	"net/http/httptest"
)

// Server is an Emulator listening on a loopback address, shaped like
// httptest.Server. The embedded *Emulator gives the inspection and fault
// methods: srv.Records(key, id), srv.FailNext(kind, n), srv.Stats().
type Server struct {
	// URL is the base URL, "http://127.0.0.1:port", without a trailing
	// slash: requests go to URL + "/v2/bulk_jobs".
	URL string

	*Emulator

	ts *httptest.Server
}

// NewServer starts an Emulator with cfg on 127.0.0.1 (or [::1] when IPv4
// is unavailable) at a free port. Like httptest.NewServer it panics if it
// cannot listen, and also if cfg is invalid (see New): it is meant for
// tests and fixed configurations. The caller must Close it.
func NewServer(cfg Config) *Server {
	em, err := New(cfg)
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(em)
	return &Server{URL: ts.URL, Emulator: em, ts: ts}
}

// Client returns an HTTP client for the server; Close closes its idle
// connections.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// CloseClientConnections closes every client connection to the server,
// in flight or idle.
func (s *Server) CloseClientConnections() { s.ts.CloseClientConnections() }

// Close releases requests delayed by faults, stops the executor, then
// shuts the listener and blocks until every request in flight has
// finished. No goroutine of the server is left behind. State stays
// readable after Close.
func (s *Server) Close() {
	s.Emulator.Close()
	s.ts.Close()
}
