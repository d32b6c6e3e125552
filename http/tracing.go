package http

import (
	"context"
	stdhttp "net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"tally/tracing"
)

// traceRequest starts the span of a request in the trace its request id
// names, the correlation id every event it appends carries: the trace of
// an upload goes on in the bridge, the worker and the projectors. The
// health probes make no traces.
// finish takes the request the mux served, which knows its route.
func (s *Server) traceRequest(ctx context.Context, requestID string, r *stdhttp.Request) (_ context.Context, finish func(served *stdhttp.Request, status int)) {
	if !s.deps.Tracing.Enabled() || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
		return ctx, func(*stdhttp.Request, int) {}
	}
	// Named for the method until the route is known; never the path,
	// whose values may be e-mail addresses.
	ctx, span := s.deps.Tracing.Start(ctx, requestID, "", r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method)))
	return ctx, func(served *stdhttp.Request, status int) {
		route := "unmatched"
		if served.Pattern != "" {
			route = served.Pattern
			if _, path, ok := strings.Cut(served.Pattern, " "); ok {
				route = path
			}
			span.SetAttributes(attribute.String("http.route", route))
		}
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			tracing.End(span, errStatus(status))
			return
		}
		span.End()
	}
}

// errStatus marks a span failed by its status code.
type errStatus int

func (e errStatus) Error() string { return stdhttp.StatusText(int(e)) }
