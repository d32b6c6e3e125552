package probe

import (
	"context"
	"net/http"
	"net/http/pprof"
)

// Option adds routes or settings to the probe server.
type Option func(*server)

// server is what Options change.
type server struct {
	mux          *http.ServeMux
	metricsToken string
}

// WithMetricsToken makes /metrics want token as a bearer token
// (METRICS_TOKEN); empty: open.
func WithMetricsToken(token string) Option {
	return func(s *server) { s.metricsToken = token }
}

// WithProfiles serves Go's CPU, heap, goroutine and other profiles under
// /debug/pprof/. Only when asked for (PPROF=1): a profile shows what the
// process is doing, so it never goes on a public port by default.
func WithProfiles() Option {
	return func(s *server) {
		mux := s.mux
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
}

// ServeProfiles serves the profiles alone on addr until ctx ends, for
// roles whose probes are on the API's public port.
func ServeProfiles(ctx context.Context, addr string) error {
	s := &server{mux: http.NewServeMux()}
	WithProfiles()(s)
	return listen(ctx, addr, s.mux)
}
