// Package commands runs Tally's commands: each decides with the domain's
// pure functions and changes its document through the document repository
// (Documents), which appends one event with optimistic concurrency. One
// file per group of commands: upload, extraction, lifecycle (correct,
// delete, restore, purge), notifications, users, duplicates and orders.
// Readers of documents use the repository, never the command handler.
//
// Invariants: an upload writes its file before its event, so no event
// points at a missing file; a command retried with the same command id
// returns its first result and appends nothing; a conflict is retried by
// re-reading and deciding again, never ignored.
package commands
