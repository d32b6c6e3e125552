// Package eventstore keeps Tally's events in one JetStream stream: append
// with optimistic concurrency, read one aggregate's history, follow the
// stream from a sequence. Nothing outside this package knows the NATS
// headers.
//
// Invariants: the stream denies delete and purge; every append names the
// sequence its aggregate must be at (Nats-Expected-Last-Subject-Sequence)
// and carries a message id (Nats-Msg-Id) derived from the command, so a
// retried command appends nothing twice; events that must stand or fall
// together go in one atomic batch. Because every event names the sequence
// before it on its subject, a history is read from its last event back by
// sequence, and the histories read last are kept: the stream only grows,
// so a kept history needs only what was appended since (history.go). With tracing on, an append is a span and
// its message carries the span's traceparent, which a read hands on in the
// envelope (domain.Envelope.Trace).
package eventstore
