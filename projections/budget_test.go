package projections_test

import (
	"os"
	"runtime"
	"testing"

	"tally/projections"
)

// The bound comes from the machine's memory: on Linux it is read, and at
// 3 KB an event in half of it, a machine of a few GB folds about a
// million events or more.
func TestMaxFoldEventsFromMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("memory is read from /proc and /sys/fs/cgroup")
	}
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip(err)
	}
	n := projections.MaxFoldEvents()
	if n < 100_000 || n > 1<<40 {
		t.Fatalf("MaxFoldEvents() = %d, want a bound from this machine's memory", n)
	}
}
