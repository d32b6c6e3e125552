package http

import (
	"fmt"
	stdhttp "net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	ereceiptapi "tally/http/ereceipts"
	"tally/ratelimit"
)

// rateClasses puts each operation that is not a read in its budget;
// operations not named here are reads.
var rateClasses = map[string]ratelimit.Class{
	"upload-document":        ratelimit.Uploads,
	"billify-upload-invoice": ratelimit.Uploads,
	"submit-email-receipt":   ratelimit.Uploads,
	"ingest-upload":          ratelimit.Uploads,
	"ereceipts-create-job":   ratelimit.Uploads,
	"reprocess-selection":    ratelimit.Expensive,
	"reprocess-document":     ratelimit.Expensive,
	"scrape-mailbox":         ratelimit.Expensive,
	"link-mailbox":           ratelimit.Expensive,
	"test-webhook":           ratelimit.Expensive,
	"get-monthly-report":     ratelimit.Expensive,
	"erase-user":             ratelimit.Expensive,
}

// unlimited operations are probes, which orchestrators call on a clock;
// their dependency checks are cached instead.
var unlimited = map[string]bool{"healthz": true, "readyz": true, "ingest-health": true}

// rateLimit counts every call against its class's budget for the
// presented API key and for the client's address, before the key is
// looked up, and answers 429 with Retry-After once either is spent. Every
// answer carries RateLimit-Limit, -Remaining and -Reset (seconds).
func (s *Server) rateLimit(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if s.deps.RateLimits == nil || op == nil || unlimited[op.OperationID] {
		next(ctx)
		return
	}
	class, ok := rateClasses[op.OperationID]
	if !ok {
		class = ratelimit.Reads
	}
	credential, _ := strings.CutPrefix(ctx.Header("Authorization"), "Bearer ")
	if credential == "" {
		credential = ctx.Header("api-key")
	}
	r, _ := humago.Unwrap(ctx)
	d, counted, err := s.deps.RateLimits.Allow(ctx.Context(), class, s.clientIP(r), strings.TrimSpace(credential))
	if err != nil {
		s.deps.Log.WarnContext(ctx.Context(), "rate limits unavailable, call let through", "err", err, "request_id", requestID(ctx.Context()))
	}
	if !counted {
		next(ctx)
		return
	}
	ctx.SetHeader("RateLimit-Limit", strconv.Itoa(d.Limit))
	ctx.SetHeader("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	ctx.SetHeader("RateLimit-Reset", strconv.Itoa(ratelimit.Seconds(d.Reset)))
	ctx.SetHeader("RateLimit-Policy", fmt.Sprintf("%d;w=60", d.Limit))
	if !d.Allowed {
		wait := ratelimit.Seconds(d.RetryAfter)
		ctx.SetHeader("Retry-After", strconv.Itoa(wait))
		msg := fmt.Sprintf("too many %s: at most %d a minute for this client; retry in %d s", class, d.Limit, wait)
		if ereceiptapi.IsRoute(op) {
			ereceiptapi.WriteTooMany(ctx, msg)
			return
		}
		_ = huma.WriteErr(s.api, ctx, stdhttp.StatusTooManyRequests, msg)
		return
	}
	next(ctx)
}

// clientIP is the caller's address (ratelimit.ClientIP).
func (s *Server) clientIP(r *stdhttp.Request) string {
	return ratelimit.ClientIP(r, s.deps.ClientIPHeader)
}
