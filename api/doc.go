// Package api is a thin, typed client for the Salesloft Bulk Jobs API
// (REST v2): one method per endpoint, one HTTP attempt per call.
package api
