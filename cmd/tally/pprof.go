package main

import (
	"context"
	"sync"

	"tally/probe"
)

// startPprof serves Go's profiles on PPROF_LISTEN (PPROF=1 only) for
// roles whose probes are on the public API port (api, all), until ctx
// ends.
func startPprof(ctx context.Context, wg *sync.WaitGroup, rt *runtime) {
	if !rt.cfg.Pprof {
		return
	}
	wg.Go(func() {
		rt.log.Warn("profiles served", "listen", rt.cfg.PprofListen, "path", "/debug/pprof/")
		if err := probe.ServeProfiles(ctx, rt.cfg.PprofListen); err != nil {
			rt.log.Error("profile server stopped", "err", err)
		}
	})
}
