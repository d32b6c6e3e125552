// Package ratelimit bounds how fast API clients may call: budgets per
// minute for three classes of route (uploads, reads, expensive calls),
// counted in Redis so that every API process shares them, per API key and
// per client address. The counting is github.com/go-redis/redis_rate's
// GCRA; this package chooses the keys and budgets and says what a client
// is told.
//
// Invariants: a key is never stored in the clear (it is hashed); an
// unreachable Redis lets requests through (the limiter protects, it must
// not become the outage); a zero budget means no limit for that class.
package ratelimit
