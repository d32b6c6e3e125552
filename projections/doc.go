// Package projections builds Tally's PostgreSQL read models (documents,
// status counts, monthly totals, what corrections taught about issuers)
// from the event stream.
//
// Invariants: a projector applies a batch of events and moves its
// checkpoint in one transaction, with a compare-and-set on the checkpoint,
// so an event is applied exactly once; one instance per projector holds an
// advisory lock and applies, others wait; a read model can be dropped and
// rebuilt from sequence 0 with the same result. A read model whose
// checkpoint names another incarnation of the stream is rebuilt.
//
// Speed: the projectors of a process run as a Group on one reading of
// the stream, each batch decoded once and applied by all of them in one
// transaction (every checkpoint moved in it, each with its own
// compare-and-set); a member that fails alone leaves the group and runs
// by itself, as does one far behind the others when the group starts.
// Within a batch, statements are pipelined (queued and sent with the
// next read), so a batch costs about one round trip per read. A
// rebuild starts from nothing, so a projector that is a Folder is not
// replayed statement by statement: one pass over the stream folds each
// document's events in memory, the final rows are bulk-loaded with COPY
// into fresh tables, indexes are built once, and the projector catches
// up from there with statements before the swap. A fold must leave
// exactly the rows Apply leaves (a test compares the two on one stream).
// Other projectors replay into unlogged scratch tables that carry only
// the indexes replay needs.
package projections
