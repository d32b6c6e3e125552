package http

import (
	"context"
	"errors"
	stdhttp "net/http"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

type healthzOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

type readyzOutput struct {
	Status int
	Body   struct {
		Status       string            `json:"status" enum:"ready,not ready"`
		Dependencies map[string]string `json:"dependencies"`
	}
}

type ingestHealthOutput struct {
	Status int
	Body   struct {
		Service      string            `json:"service" enum:"healthy,degraded,unhealthy"`
		Dependencies map[string]string `json:"dependencies"`
	}
}

func (s *Server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: stdhttp.MethodGet, Path: "/healthz", Tags: []string{"Health"},
		Summary: "Liveness: the process is up",
	}, func(ctx context.Context, _ *struct{}) (*healthzOutput, error) {
		out := &healthzOutput{}
		out.Body.Status = "ok"
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "readyz", Method: stdhttp.MethodGet, Path: "/readyz", Tags: []string{"Health"},
		Summary:     "Readiness: every critical dependency answers",
		Description: "200 when the database, the event store and the blob store answer; 500 otherwise.",
	}, func(ctx context.Context, _ *struct{}) (*readyzOutput, error) {
		results, critical, _ := s.probe(ctx)
		out := &readyzOutput{Status: stdhttp.StatusOK}
		out.Body.Status, out.Body.Dependencies = "ready", results
		if critical {
			out.Status, out.Body.Status = stdhttp.StatusInternalServerError, "not ready"
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "ingest-health", Method: stdhttp.MethodGet, Path: "/api/v1/ingest/health", Tags: []string{"Ingest"},
		Summary:     "Dependency health",
		Description: "healthy: all dependencies answer; degraded: a non-critical one (redis, rabbitmq) is down; unhealthy (503): a critical one is down.",
	}, func(ctx context.Context, _ *struct{}) (*ingestHealthOutput, error) {
		results, critical, any := s.probe(ctx)
		out := &ingestHealthOutput{Status: stdhttp.StatusOK}
		out.Body.Service, out.Body.Dependencies = "healthy", results
		switch {
		case critical:
			out.Status, out.Body.Service = stdhttp.StatusServiceUnavailable, "unhealthy"
		case any:
			out.Body.Service = "degraded"
		}
		return out, nil
	})
}

// probe pings every dependency in parallel, each with its own deadline.
func (s *Server) probe(ctx context.Context) (results map[string]string, criticalDown, anyDown bool) {
	results = map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range s.deps.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			err := c.Ping(cctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				results[c.Name] = "unhealthy"
				var status interface{ HealthStatus() string }
				if errors.As(err, &status) {
					results[c.Name] = status.HealthStatus() // "circuit open"
				}
				anyDown = true
				criticalDown = criticalDown || c.Critical
				s.deps.Log.WarnContext(ctx, "dependency unhealthy", "dependency", c.Name, "err", err, "request_id", requestID(ctx))
				return
			}
			results[c.Name] = "healthy"
		}()
	}
	wg.Wait()
	return results, criticalDown, anyDown
}
