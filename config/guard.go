package config

import (
	"net/textproto"
	"strconv"
)

// Guard holds the abuse protections: rate limits, tenant quotas and the
// metrics token. See docs/security.md#limits.
type Guard struct {
	// RateLimitUploads, RateLimitReads and RateLimitExpensive are
	// RATE_LIMIT_UPLOADS_PER_MINUTE (default 60),
	// RATE_LIMIT_READS_PER_MINUTE (default 600) and
	// RATE_LIMIT_EXPENSIVE_PER_MINUTE (default 10): calls a minute per API
	// key, counted in Redis across API processes; 0 turns a class's limit
	// off.
	RateLimitUploads   int
	RateLimitReads     int
	RateLimitExpensive int
	// RateLimitIPFactor is RATE_LIMIT_IP_FACTOR, how many times a key's
	// budget one client address gets (default 5).
	RateLimitIPFactor int
	// RateLimitClientIPHeader is RATE_LIMIT_CLIENT_IP_HEADER, the header a
	// reverse proxy sets to the client's address (e.g. X-Forwarded-For,
	// whose last entry is used); empty: the connection's peer. Set it only
	// behind a proxy that overwrites the header, or clients choose their
	// own address.
	RateLimitClientIPHeader string
	// TenantDocumentsPerDay is TENANT_DOCUMENTS_PER_DAY, how many documents
	// a tenant may add per UTC day (default 10000; 0: no quota).
	TenantDocumentsPerDay int
	// TenantStorageMB is TENANT_STORAGE_MB, the MiB of files a tenant may
	// keep (default 0: no quota).
	TenantStorageMB int
	// ExtractToolMemoryMB is EXTRACT_TOOL_MEMORY_MB, the address space
	// pdftotext and tesseract may take (default 2048).
	ExtractToolMemoryMB int
	// ExtractToolCPUSeconds is EXTRACT_TOOL_CPU_SECONDS, the CPU time
	// each run of them may take (default 0: SCRAPE_WORKER_TIMEOUT_MS).
	ExtractToolCPUSeconds int
	// NotifyRequireConfirmation is NOTIFY_REQUIRE_CONFIRMATION: e-mail
	// only addresses whose owner confirmed them through a link mailed
	// once (default true). Set it to false only where every address is
	// known to be its user's, e.g. a company's own staff.
	NotifyRequireConfirmation bool
	// MetricsToken is METRICS_TOKEN: when set, GET /metrics wants it as a
	// bearer token. Secret.
	MetricsToken string
}

func (g *Guard) setDefaults() {
	g.RateLimitUploads, g.RateLimitReads, g.RateLimitExpensive = 60, 600, 10
	g.RateLimitIPFactor = 5
	g.TenantDocumentsPerDay = 10000
	g.ExtractToolMemoryMB = 2048
	g.NotifyRequireConfirmation = true
}

func (g *Guard) read(r *envReader) {
	r.int("RATE_LIMIT_UPLOADS_PER_MINUTE", &g.RateLimitUploads)
	r.int("RATE_LIMIT_READS_PER_MINUTE", &g.RateLimitReads)
	r.int("RATE_LIMIT_EXPENSIVE_PER_MINUTE", &g.RateLimitExpensive)
	r.int("RATE_LIMIT_IP_FACTOR", &g.RateLimitIPFactor)
	if r.str("RATE_LIMIT_CLIENT_IP_HEADER", &g.RateLimitClientIPHeader) {
		g.RateLimitClientIPHeader = textproto.CanonicalMIMEHeaderKey(g.RateLimitClientIPHeader)
	}
	r.int("TENANT_DOCUMENTS_PER_DAY", &g.TenantDocumentsPerDay)
	r.int("TENANT_STORAGE_MB", &g.TenantStorageMB)
	r.int("EXTRACT_TOOL_MEMORY_MB", &g.ExtractToolMemoryMB)
	r.int("EXTRACT_TOOL_CPU_SECONDS", &g.ExtractToolCPUSeconds)
	r.bool("NOTIFY_REQUIRE_CONFIRMATION", &g.NotifyRequireConfirmation)
	r.secret("METRICS_TOKEN", &g.MetricsToken)
}

func (g *Guard) problems(v *validator) {
	v.intRange("RATE_LIMIT_UPLOADS_PER_MINUTE", g.RateLimitUploads, 0, 1_000_000)
	v.intRange("RATE_LIMIT_READS_PER_MINUTE", g.RateLimitReads, 0, 1_000_000)
	v.intRange("RATE_LIMIT_EXPENSIVE_PER_MINUTE", g.RateLimitExpensive, 0, 1_000_000)
	v.intRange("RATE_LIMIT_IP_FACTOR", g.RateLimitIPFactor, 1, 10_000)
	v.intRange("TENANT_DOCUMENTS_PER_DAY", g.TenantDocumentsPerDay, 0, 100_000_000)
	v.intRange("TENANT_STORAGE_MB", g.TenantStorageMB, 0, 1<<30)
	v.intRange("EXTRACT_TOOL_MEMORY_MB", g.ExtractToolMemoryMB, 64, 1<<20)
	v.intRange("EXTRACT_TOOL_CPU_SECONDS", g.ExtractToolCPUSeconds, 0, 86400)
	if t := g.MetricsToken; t != "" && len(t) < 16 {
		v.fail("METRICS_TOKEN", "is %d characters; use at least 16", len(t))
	}
}

func (g Guard) settings() []setting {
	return []setting{
		{"RATE_LIMIT_UPLOADS_PER_MINUTE", strconv.Itoa(g.RateLimitUploads)},
		{"RATE_LIMIT_READS_PER_MINUTE", strconv.Itoa(g.RateLimitReads)},
		{"RATE_LIMIT_EXPENSIVE_PER_MINUTE", strconv.Itoa(g.RateLimitExpensive)},
		{"RATE_LIMIT_IP_FACTOR", strconv.Itoa(g.RateLimitIPFactor)},
		{"RATE_LIMIT_CLIENT_IP_HEADER", g.RateLimitClientIPHeader},
		{"TENANT_DOCUMENTS_PER_DAY", strconv.Itoa(g.TenantDocumentsPerDay)},
		{"TENANT_STORAGE_MB", strconv.Itoa(g.TenantStorageMB)},
		{"EXTRACT_TOOL_MEMORY_MB", strconv.Itoa(g.ExtractToolMemoryMB)},
		{"EXTRACT_TOOL_CPU_SECONDS", strconv.Itoa(g.ExtractToolCPUSeconds)},
		{"NOTIFY_REQUIRE_CONFIRMATION", strconv.FormatBool(g.NotifyRequireConfirmation)},
		{"METRICS_TOKEN", maskSecret(g.MetricsToken)},
	}
}
