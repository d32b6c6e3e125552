package projections

// SetFoldChunk makes the rebuild's pass read chunks of n events; the
// returned func restores the size.
func SetFoldChunk(n uint64) (restore func()) {
	old := foldChunk
	foldChunk = n
	return func() { foldChunk = old }
}
