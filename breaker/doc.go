// Package breaker makes calls to a dependency that is down fail at once
// instead of each waiting out its own timeout: one circuit breaker
// (sony/gobreaker) per dependency, fitted to the adapters the API uses, so
// no handler knows about it. Blobs wraps a blob.Store, RedisHook goes on a
// Redis client, and Postgres on a pgxpool configuration.
//
// Invariants: only the dependency's own failures count (a missing key, a
// query the server refused or a caller that went away do not); while a
// breaker is open every call fails with an error wrapping ErrOpen, and
// after OpenFor one trial call decides whether it closes again.
package breaker
