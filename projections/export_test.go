package projections

// LockKey is the advisory lock id of a projector's name, for tests that
// hold a projector's lock the way another instance would.
func LockKey(name string) int64 { return lockKey(name) }
