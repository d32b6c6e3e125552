// Package probe answers the liveness, readiness and metrics probes of the
// roles that serve no API: /healthz, /readyz and /metrics on one port.
//
// Invariants: /healthz answers as long as the process runs; /readyz is
// 200 only while every check passes, each within its own deadline; a
// dependency is pinged at most once per CheckTTL however often probes
// come; /metrics can want a bearer token.
package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"tally/metrics"
)

// Check is one dependency a role reports on.
type Check struct {
	// Name as reported, e.g. "database".
	Name string
	// Critical dependencies make the service unhealthy (and not ready)
	// when down; the others make it degraded.
	Critical bool
	Ping     func(ctx context.Context) error
}

// Serve answers the probes on addr until ctx ends, then shuts the server
// down.
func Serve(ctx context.Context, addr string, m *metrics.Metrics, checks []Check, opts ...Option) error {
	s := &server{mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	mux := s.mux
	mux.Handle("GET /metrics", RequireToken(s.metricsToken, m.Handler()))
	checks = Cached(checks, CheckTTL)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		deps, ready := map[string]string{}, true
		for _, c := range checks {
			cctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
			err := c.Ping(cctx)
			cancel()
			deps[c.Name] = "healthy"
			if err != nil {
				deps[c.Name], ready = "unhealthy", false
			}
		}
		status, code := "ready", 200
		if !ready {
			status, code = "not ready", 500
		}
		writeJSON(w, code, map[string]any{"status": status, "dependencies": deps})
	})
	return listen(ctx, addr, mux)
}

// listen serves mux on addr until ctx ends, then shuts the server down.
func listen(ctx context.Context, addr string, mux *http.ServeMux) error {
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("probe server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
