package projections

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// foldEventBytes is about what folding costs per event of the stream at
// its peak: 2.8 GB of peak RSS for a million events (docs/performance.md,
// bench/rebuild).
const foldEventBytes = 3 << 10

// MaxFoldEvents is the longest history a rebuild folds in memory on this
// machine: as many events as half of the memory the process may use
// (its cgroup's limit where one is set, else the machine's) holds at
// foldEventBytes an event. 0 when the memory cannot be read: no bound.
func MaxFoldEvents() uint64 {
	return processMemory() / 2 / foldEventBytes
}

// processMemory is the memory this process may use, in bytes: the least
// of the machine's memory and its cgroup's limit (v2, or v1), 0 when
// none can be read.
func processMemory() uint64 {
	least := memTotal()
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// "max" (v2) or a number near 2^63 (v1): no limit.
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (least == 0 || n < least) {
			least = n
		}
	}
	return least
}

// memTotal is the machine's memory from /proc/meminfo, 0 when it cannot
// be read.
func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
