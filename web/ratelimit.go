package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"tally/ratelimit"
)

// limited counts a signed-in request against class's budget per session
// and per client address (the web app's own counters, apart from the
// API's per key) and refuses it with 429 and Retry-After once either is
// spent. Without a limiter, or when Redis does not answer, the request
// goes through: the limiter protects, it must not become the outage.
func (s *Server) limited(class ratelimit.Class, next func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.deps.RateLimits == nil {
			next(w, r)
			return
		}
		d, counted, err := s.deps.RateLimits.Allow(r.Context(), class, s.clientIP(r), "session:"+viewerOf(r).token)
		if err != nil {
			s.deps.Log.WarnContext(r.Context(), "rate limits unavailable, request let through", "err", err)
		}
		if !counted || d.Allowed {
			next(w, r)
			return
		}
		wait := ratelimit.Seconds(d.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		msg := fmt.Sprintf("Too many %s at once: at most %d a minute. Try again in %d seconds.", what[class], d.Limit, wait)
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			jsonError(w, http.StatusTooManyRequests, msg)
			return
		}
		s.errorPage(w, r, http.StatusTooManyRequests, msg)
	}
}

// what names a class's requests for people.
var what = map[ratelimit.Class]string{ratelimit.Uploads: "uploads", ratelimit.Expensive: "exports, reprocessing and tests"}

// clientIP is the address a request is counted by (ratelimit.ClientIP).
func (s *Server) clientIP(r *http.Request) string {
	return ratelimit.ClientIP(r, s.deps.ClientIPHeader)
}
