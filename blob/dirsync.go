package blob

import "sync"

// dirSyncs lets concurrent writers into one directory share its fsync.
// A rename is durable once some fsync of its directory has started after
// it; the fsync of a directory flushes every entry changed in it so far, so
// of sixteen uploads renamed into this month's directory while one fsync
// runs, the next single fsync makes all sixteen durable. Without this each
// of them paid an fsync of its own (a tenth of an upload's CPU, and as much
// again in the filesystem's writeback).
type dirSyncs struct {
	mu   sync.Mutex
	dirs map[string]*dirSync
}

// dirSync is one directory's group: generations of fsyncs run one at a
// time; started and finished count them.
type dirSync struct {
	done     *sync.Cond // signalled whenever a generation finishes
	started  uint64
	finished uint64
	running  bool
	// The latest failed generation and its error. Linux reports a failed
	// writeback to one fsync only, so a later generation's success does
	// not make up for it: a caller answers with the failure of any
	// generation it waited for.
	failedGen uint64
	failed    error
	waiters   int // callers in sync, so an idle entry can be dropped
}

// sync returns once an fsync of dir that started after the call has
// finished, with that fsync's error. fsync is the system call (syncDir).
func (g *dirSyncs) sync(dir string, fsync func(string) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dirs == nil {
		g.dirs = map[string]*dirSync{}
	}
	s := g.dirs[dir]
	if s == nil {
		s = &dirSync{done: sync.NewCond(&g.mu)}
		g.dirs[dir] = s
	}
	s.waiters++
	defer func() {
		if s.waiters--; s.waiters == 0 && !s.running {
			delete(g.dirs, dir)
		}
	}()
	// A generation already running may have read the directory before
	// this caller's rename: only the next one counts.
	need := s.started + 1
	for s.finished < need {
		if s.running {
			s.done.Wait()
			continue
		}
		s.started++
		s.running = true
		g.mu.Unlock()
		err := fsync(dir)
		g.mu.Lock()
		s.running = false
		s.finished = s.started
		if err != nil {
			s.failedGen, s.failed = s.finished, err
		}
		s.done.Broadcast()
	}
	// finished may be past need when another generation completed before
	// this caller woke; it too started after the rename, so its success
	// answers for it, but not over the failure of the generation needed.
	if s.failedGen >= need {
		return s.failed
	}
	return nil
}
