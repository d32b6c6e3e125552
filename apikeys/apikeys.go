// Package apikeys makes and checks the bearer keys that name a request's
// tenant. Keys are random, shown once, and stored only as SHA-256 hashes:
// they are high-entropy secrets, so a fast hash is enough and lookups stay
// one indexed query.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/keywatch"
	"tally/readmodel"
)

// ErrUnknownKey: no active key matches.
var ErrUnknownKey = errors.New("unknown or revoked API key")

const prefix = "tly_"

// Keys reads and writes the api_keys table.
type Keys struct {
	q     *readmodel.Queries
	cache *keywatch.Cache[[sha256.Size]byte, string]
}

// New returns Keys on a pool or connection.
func New(db readmodel.DBTX) *Keys { return &Keys{q: readmodel.New(db)} }

// cacheTTL bounds how long a key's tenant is kept without a read. A
// revocation, expiry or deletion ends it sooner (package keywatch); the
// bound keeps last_used_at to within a minute or two.
const cacheTTL = time.Minute

// cacheSize bounds the keys kept at once.
const cacheSize = 10_000

// Cached returns Keys whose Tenant keeps what it read while watch reports
// no change to api_keys: an API process's lookups, one per request.
func (k *Keys) Cached(watch *keywatch.Watch) *Keys {
	return &Keys{q: k.q, cache: keywatch.NewCache[[sha256.Size]byte, string](watch, cacheSize)}
}

// Create makes a new key for tenant and returns it; it is not stored in
// clear anywhere, so this is the only time it can be seen.
func (k *Keys) Create(ctx context.Context, tenant string) (string, error) {
	key, _, err := k.CreateExpiring(ctx, tenant, time.Time{})
	return key, err
}

// CreateExpiring is Create for a key that stops working at expires (zero:
// never); it returns the key's id too, for list, revoke and rotate.
func (k *Keys) CreateExpiring(ctx context.Context, tenant string, expires time.Time) (string, uuid.UUID, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", uuid.Nil, fmt.Errorf("create api key: %w", err)
	}
	key := prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	hash := sha256.Sum256([]byte(key))
	id := uuid.Must(uuid.NewV7())
	err := k.q.InsertAPIKey(ctx, readmodel.InsertAPIKeyParams{
		ID: id, Tenant: tenant, KeyHash: hash[:], KeyPrefix: key[:len(prefix)+6], ExpiresAt: timestamp(expires),
	})
	if err != nil {
		return "", uuid.Nil, fmt.Errorf("create api key for tenant %s: %w", tenant, err)
	}
	return key, id, nil
}

func timestamp(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

func timeOf(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// Tenant returns the tenant a key belongs to.
func (k *Keys) Tenant(ctx context.Context, key string) (string, error) {
	if !strings.HasPrefix(key, prefix) || len(key) > 200 {
		return "", ErrUnknownKey
	}
	hash := sha256.Sum256([]byte(key))
	now := time.Now()
	if tenant, ok := k.cache.Get(hash, now); ok {
		return tenant, nil
	}
	// Unknown keys are not kept: a key made a moment ago on another
	// process must work at once.
	stamp, cacheable := k.cache.Stamp()
	row, err := k.q.TenantForKey(ctx, hash[:])
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrUnknownKey
	}
	if err != nil {
		return "", fmt.Errorf("look up api key: %w", err)
	}
	if row.Stale {
		// last_used_at to the minute: one write a minute per key, not one
		// per request. A failed write does not fail the request.
		_ = k.q.TouchAPIKey(ctx, row.ID)
	}
	if cacheable {
		// The key's own end, as the database counts it from now, comes
		// first when it is sooner.
		ttl := cacheTTL
		if row.ExpiresIn < cacheTTL.Seconds() {
			ttl = time.Duration(row.ExpiresIn * float64(time.Second))
		}
		k.cache.Put(hash, stamp, row.Tenant, now.Add(ttl))
	}
	return row.Tenant, nil
}

// Info is a key as `tally apikey list` shows it: never the key itself,
// only its first characters.
type Info struct {
	ID         uuid.UUID  `json:"id"`
	Tenant     string     `json:"tenant"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func ptr(t pgtype.Timestamptz) *time.Time {
	if !t.Valid {
		return nil
	}
	u := timeOf(t)
	return &u
}

// List returns tenant's keys (every tenant's when tenant is empty).
func (k *Keys) List(ctx context.Context, tenant string) ([]Info, error) {
	rows, err := k.q.ListAPIKeys(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	out := make([]Info, 0, len(rows))
	for _, r := range rows {
		out = append(out, Info{ID: r.ID, Tenant: r.Tenant, Prefix: r.KeyPrefix, CreatedAt: timeOf(r.CreatedAt),
			ExpiresAt: ptr(r.ExpiresAt), LastUsedAt: ptr(r.LastUsedAt), RevokedAt: ptr(r.RevokedAt)})
	}
	return out, nil
}

// ErrNoSuchKey: no key has that id, or it is revoked already.
var ErrNoSuchKey = errors.New("no live API key with that id")

// Revoke ends a key now.
func (k *Keys) Revoke(ctx context.Context, id uuid.UUID) error {
	n, err := k.q.RevokeAPIKey(ctx, id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if n == 0 {
		return ErrNoSuchKey
	}
	return nil
}

// Rotate makes a new key for the old key's tenant, expiring at expires
// (zero: never), and ends the old one: at once when grace is zero, else
// after grace, so clients can move over. It returns the new key.
func (k *Keys) Rotate(ctx context.Context, old uuid.UUID, expires time.Time, grace time.Duration) (string, uuid.UUID, error) {
	row, err := k.q.GetAPIKey(ctx, old)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && row.RevokedAt.Valid {
		return "", uuid.Nil, ErrNoSuchKey
	}
	if err != nil {
		return "", uuid.Nil, fmt.Errorf("read api key: %w", err)
	}
	key, id, err := k.CreateExpiring(ctx, row.Tenant, expires)
	if err != nil {
		return "", uuid.Nil, err
	}
	if grace <= 0 {
		err = k.Revoke(ctx, old)
	} else {
		_, err = k.q.ExpireAPIKey(ctx, readmodel.ExpireAPIKeyParams{ID: old, ExpiresAt: timestamp(time.Now().Add(grace))})
	}
	if err != nil {
		return key, id, fmt.Errorf("the new key was made but the old one still works: %w", err)
	}
	return key, id, nil
}
