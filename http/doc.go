// Package http is Tally's HTTP API: huma operations that turn requests into
// commands and answer reads from the PostgreSQL read models, with an
// OpenAPI 3.1 document at /openapi.json, offline docs at /docs and errors
// as RFC 9457 problem details.
//
// Invariants: every document and webhook route is scoped to the tenant of
// the bearer key, and another tenant's document or endpoint is answered
// 404; errors meet status
// codes in one place (Server.fail); uploads are read as a stream with the
// size limit applied while reading.
package http
