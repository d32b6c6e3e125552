package probe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tally/metrics"
)

func TestCachedChecksPingOncePerTTL(t *testing.T) {
	var pings atomic.Int32
	fail := errors.New("down")
	checks := Cached([]Check{{Name: "db", Critical: true, Ping: func(context.Context) error {
		pings.Add(1)
		return fail
	}}}, 200*time.Millisecond)
	if checks[0].Name != "db" || !checks[0].Critical {
		t.Fatalf("%+v", checks[0])
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := checks[0].Ping(context.Background()); !errors.Is(err, fail) {
				t.Errorf("cached result %v", err)
			}
		})
	}
	wg.Wait()
	if n := pings.Load(); n != 1 {
		t.Fatalf("50 probes pinged %d times", n)
	}
	time.Sleep(250 * time.Millisecond)
	checks[0].Ping(context.Background())
	if n := pings.Load(); n != 2 {
		t.Fatalf("after the TTL: %d pings", n)
	}
}

// The probe server's /readyz pings a dependency once however often it is
// asked within a second, and /metrics wants the token when one is set.
func TestProbeServerGuards(t *testing.T) {
	var pings atomic.Int32
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	checks := []Check{{Name: "db", Critical: true, Ping: func(context.Context) error { pings.Add(1); return nil }}}
	go func() { done <- Serve(ctx, addr, metrics.New(), checks, WithMetricsToken("0123456789abcdef")) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for range 20 {
		if got := status(t, "http://"+addr+"/readyz"); got != 200 {
			t.Fatalf("/readyz: %d", got)
		}
	}
	if n := pings.Load(); n > 2 {
		t.Fatalf("20 readiness probes pinged the database %d times", n)
	}
	if got := status(t, "http://"+addr+"/metrics"); got != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token: %d", got)
	}
	for token, want := range map[string]int{"wrong": 401, "0123456789abcdef": 200} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("/metrics with %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}

func TestNoTokenNoGuard(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	rec := httptest.NewRecorder()
	RequireToken("", h).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 204 {
		t.Fatalf("without METRICS_TOKEN: %d", rec.Code)
	}
}
