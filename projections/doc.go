// Package projections builds Tally's PostgreSQL read models (documents,
// status counts, monthly totals) from the event stream.
//
// Invariants: a projector applies a batch of events and moves its
// checkpoint in one transaction, with a compare-and-set on the checkpoint,
// so an event is applied exactly once; one instance per projector holds an
// advisory lock and applies, others wait; a read model can be dropped and
// rebuilt from sequence 0 with the same result. A read model whose
// checkpoint names another incarnation of the stream is rebuilt.
package projections
