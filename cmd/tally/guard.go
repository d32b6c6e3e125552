package main

import (
	"time"

	"tally/extract"
	"tally/ratelimit"
	"tally/readmodel"
)

// rateLimits counts API calls in Redis with the configured budgets; nil
// (no limits) without Redis.
func (rt *runtime) rateLimits() *ratelimit.Limiter {
	if rt.redis == nil {
		return nil
	}
	g := rt.cfg.Guard
	return ratelimit.New(rt.redis, ratelimit.Config{Uploads: g.RateLimitUploads, Reads: g.RateLimitReads,
		Expensive: g.RateLimitExpensive, IPFactor: g.RateLimitIPFactor})
}

// webRateLimits bound the web app's uploads and expensive actions per
// session and per client address, with the API's budgets per minute
// (RATE_LIMIT_*) counted apart from the API's.
func (rt *runtime) webRateLimits() *ratelimit.Limiter {
	if rt.redis == nil {
		return nil
	}
	g := rt.cfg.Guard
	return ratelimit.New(rt.redis, ratelimit.Config{Uploads: g.RateLimitUploads, Expensive: g.RateLimitExpensive,
		IPFactor: g.RateLimitIPFactor, Scope: "web"})
}

// quotas bound what each tenant adds (TENANT_DOCUMENTS_PER_DAY,
// TENANT_STORAGE_MB).
func (r *runtime) quotas() *ratelimit.Quotas {
	g := r.cfg.Guard
	if r.pool == nil {
		return &ratelimit.Quotas{}
	}
	return &ratelimit.Quotas{Queries: readmodel.New(r.pool), DocumentsPerDay: g.TenantDocumentsPerDay,
		StorageBytes: int64(g.TenantStorageMB) << 20}
}

// extractLimits are the engine's limits: the worker's timeout, and the
// memory and CPU time of pdftotext and tesseract.
func (rt *runtime) extractLimits() extract.Limits {
	g := rt.cfg.Guard
	return extract.Limits{Timeout: rt.cfg.ScrapeWorkerTimeout, ToolMemory: int64(g.ExtractToolMemoryMB) << 20,
		ToolCPU: time.Duration(g.ExtractToolCPUSeconds) * time.Second}
}
