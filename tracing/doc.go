// Package tracing follows one document through Tally with OpenTelemetry
// traces: the HTTP request, the append to the stream, the bridge's relay to
// RabbitMQ, the worker's extraction and its result's append, and each
// projector applying the events.
//
// Invariants: the trace of a document is named by the correlation id its
// events already carry (TraceID), so every stage, in whichever process,
// makes its spans in the same trace without a second id; a parent span id
// travels where a carrier exists (the traceparent header of a stream
// message or of a job), and a stage without one starts a root span in that
// trace. Span names and attributes hold routes, event types, document ids
// and kinds, never a raw path, a file's content or personal data. Tracing
// is off unless an OTLP endpoint is configured, and then a nil *Tracer
// costs a nil check.
package tracing
