// Package domain holds the Document aggregate and its events: the vocabulary
// of Tally's event stream. It is pure: no I/O, no clocks it does not get
// passed, no knowledge of NATS, SQL or HTTP.
//
// Invariants: an event, once appended, is never changed. Every event is an
// Envelope carrying a schema version; readers upcast older versions, so the
// JSON field names of a published version never change meaning.
package domain
