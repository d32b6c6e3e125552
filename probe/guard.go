package probe

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"
)

// CheckTTL is how long a dependency check's result is reused: probes and
// health routes can be called as often as anyone likes, the dependencies
// are pinged at most once a second.
const CheckTTL = time.Second

// Cached returns checks that remember each result for ttl. Concurrent
// callers of a stale check wait for one ping and share its result.
func Cached(checks []Check, ttl time.Duration) []Check {
	out := make([]Check, len(checks))
	for i, c := range checks {
		cc := &cachedCheck{ping: c.Ping, ttl: ttl}
		out[i] = Check{Name: c.Name, Critical: c.Critical, Ping: cc.Ping}
	}
	return out
}

type cachedCheck struct {
	ping func(context.Context) error
	ttl  time.Duration
	mu   sync.Mutex
	at   time.Time
	err  error
}

func (c *cachedCheck) Ping(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < c.ttl {
		return c.err
	}
	c.err = c.ping(ctx)
	c.at = time.Now()
	return c.err
}

// RequireToken answers 401 unless the request carries token as its bearer
// token (compared in constant time); an empty token requires nothing.
// It guards /metrics (METRICS_TOKEN), which tells anyone who can reach it
// the service's volume and health.
func RequireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token set in METRICS_TOKEN", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
