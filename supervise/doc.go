// Package supervise keeps long-running work going: a loop that runs a
// piece of work again after it stops (Forever), one that runs it on a
// schedule under a PostgreSQL advisory lock (Every, At, Locked), and the
// one backoff formula the retries of the whole service share (Backoff).
//
// Invariants: every loop ends when its context ends and never before; a
// failed run is retried after a growing, jittered wait, so replicas that
// lost the same dependency do not come back in step; a locked run happens
// in one process at a time and is skipped, not queued, where another holds
// the lock.
package supervise
