package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"tally/domain"
	"tally/readmodel"
)

// Quota errors, for callers that branch on them.
var (
	// ErrDailyQuota: the tenant added its documents for the UTC day; it
	// renews at midnight (429 with Retry-After).
	ErrDailyQuota = domain.NewError(domain.KindTooMany, "the tenant's daily document quota is used up")
	// ErrStorageQuota: the tenant's files fill its storage quota (403
	// until documents are deleted or the quota is raised).
	ErrStorageQuota = domain.NewError(domain.KindForbidden, "the tenant's storage quota is used up")
	// ErrQuotaUnknown: the read model could not be asked; the upload is
	// refused (503) rather than let past a quota.
	ErrQuotaUnknown = domain.NewError(domain.KindUnavailable, "the tenant's quota cannot be checked: database unavailable")
)

// Quotas bound what each tenant adds, counted in the documents read
// model (which trails the stream by a moment, so a burst may pass a
// quota by the few uploads the upload rate limit lets through).
type Quotas struct {
	Queries *readmodel.Queries
	// DocumentsPerDay (TENANT_DOCUMENTS_PER_DAY) and StorageBytes
	// (TENANT_STORAGE_MB): 0 means no quota.
	DocumentsPerDay int
	StorageBytes    int64
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Admit says whether tenant may add a document of size bytes: nil, or
// ErrDailyQuota / ErrStorageQuota with the numbers.
func (q *Quotas) Admit(ctx context.Context, tenant string, size int64) error {
	now := time.Now
	if q.Now != nil {
		now = q.Now
	}
	if q.DocumentsPerDay > 0 {
		t := now().UTC()
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		n, err := q.Queries.TenantDocumentsSince(ctx, readmodel.TenantDocumentsSinceParams{Tenant: tenant,
			Since: pgtype.Timestamptz{Time: day, Valid: true}})
		if err != nil {
			return ErrQuotaUnknown.Wrap(fmt.Errorf("count the tenant's documents today: %w", err))
		}
		if n >= int64(q.DocumentsPerDay) {
			renew := day.Add(24 * time.Hour).Sub(t)
			return ErrDailyQuota.Newf("%s: %d documents a day (TENANT_DOCUMENTS_PER_DAY); it renews at 00:00 UTC",
				ErrDailyQuota.Msg, q.DocumentsPerDay).Retry(renew)
		}
	}
	if q.StorageBytes > 0 {
		stored, err := q.Queries.TenantStoredBytes(ctx, tenant)
		if err != nil {
			return ErrQuotaUnknown.Wrap(fmt.Errorf("sum the tenant's stored bytes: %w", err))
		}
		if stored+size > q.StorageBytes {
			return ErrStorageQuota.Newf("%s: %d of %d MiB stored, and this file is %d bytes; delete documents or ask the operator to raise TENANT_STORAGE_MB",
				ErrStorageQuota.Msg, stored>>20, q.StorageBytes>>20, size)
		}
	}
	return nil
}
