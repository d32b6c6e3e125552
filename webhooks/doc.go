// Package webhooks tells tenants' own HTTP endpoints about their documents:
// document.completed (ReceiptExtracted), document.failed (ExtractionFailed,
// which the workers append only once retries are over, so the document is
// FAILED for good) and document.revised (ExtractionRevised).
//
// Three parts: the Store keeps endpoints, deliveries and attempts in
// PostgreSQL; the Dispatcher follows the event stream with its own durable
// consumer and turns each matching event into one delivery per subscribed
// endpoint; the Sender claims due deliveries, POSTs them signed in the
// manner of Standard Webhooks (webhook-id, webhook-timestamp,
// webhook-signature) and retries with exponential backoff and jitter until
// the retry period is over.
//
// Invariants:
//   - One delivery per (endpoint, event): the database's unique key makes a
//     replayed or redelivered event add nothing, and the event is
//     acknowledged on the stream only after its deliveries are stored.
//   - A delivery's body is rendered once and stored, so every retry sends
//     the same bytes under the same webhook-id (the event id); a receiver
//     de-duplicates by it. A second POST of one delivery happens only as a
//     retry, or after a sender died mid-request and its lease ran out.
//   - Every attempt is recorded with its time, HTTP status or error and
//     duration.
//   - A slow or dead endpoint holds at most a few senders (PerEndpoint) for
//     at most Timeout each; the others keep delivering to everyone else.
//   - An endpoint receives the events that happen after it was registered.
//   - Signing secrets are stored sealed (package seal) and shown once, when
//     the endpoint is created.
package webhooks
