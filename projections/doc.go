// Package projections builds Tally's PostgreSQL read models (documents,
// status counts, monthly totals) from the event stream.
//
// Invariants: a projector applies a batch of events and moves its
// checkpoint in one transaction, with a compare-and-set on the checkpoint,
// so an event is applied exactly once; one instance per projector holds an
// advisory lock and applies, others wait; a read model can be dropped and
// rebuilt from sequence 0 with the same result. A read model whose
// checkpoint names another incarnation of the stream is rebuilt.
//
// Speed: within a batch, statements are pipelined (queued and sent with
// the next read), so a batch costs about one round trip per read. A
// rebuild replays into unlogged scratch tables that carry only the indexes
// replay needs, commits without waiting for WAL, and makes the tables
// indexed and durable once, before the swap.
package projections
