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

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"tally/readmodel"
)

// ErrUnknownKey: no active key matches.
var ErrUnknownKey = errors.New("unknown or revoked API key")

const prefix = "tly_"

// Keys reads and writes the api_keys table.
type Keys struct {
	q *readmodel.Queries
}

// New returns Keys on a pool or connection.
func New(db readmodel.DBTX) *Keys { return &Keys{q: readmodel.New(db)} }

// Create makes a new key for tenant and returns it; it is not stored in
// clear anywhere, so this is the only time it can be seen.
func (k *Keys) Create(ctx context.Context, tenant string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("create api key: %w", err)
	}
	key := prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	hash := sha256.Sum256([]byte(key))
	err := k.q.InsertAPIKey(ctx, readmodel.InsertAPIKeyParams{
		ID: uuid.Must(uuid.NewV7()), Tenant: tenant, KeyHash: hash[:], KeyPrefix: key[:len(prefix)+6],
	})
	if err != nil {
		return "", fmt.Errorf("create api key for tenant %s: %w", tenant, err)
	}
	return key, nil
}

// Tenant returns the tenant a key belongs to.
func (k *Keys) Tenant(ctx context.Context, key string) (string, error) {
	if !strings.HasPrefix(key, prefix) || len(key) > 200 {
		return "", ErrUnknownKey
	}
	hash := sha256.Sum256([]byte(key))
	tenant, err := k.q.TenantForKey(ctx, hash[:])
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrUnknownKey
	}
	if err != nil {
		return "", fmt.Errorf("look up api key: %w", err)
	}
	return tenant, nil
}
