// Package commands runs Tally's commands: each loads its document from the
// event stream, decides with the domain's pure functions and appends one
// event with optimistic concurrency.
//
// Invariants: an upload writes its file before its event, so no event
// points at a missing file; a command retried with the same command id
// returns its first result and appends nothing; a conflict is retried by
// re-reading and deciding again, never ignored.
package commands
