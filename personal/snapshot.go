package personal

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"tally/domain"
	"tally/readmodel"
)

// Snapshot opens users with every live key as read at one moment, for a
// rebuild that opens the uploads of a whole stream: one read instead of
// one per upload. A key erased after the snapshot still opens through it,
// so a caller takes the snapshot after the events it opens were read, and
// relies on the UserErased events after them (which a read model applies)
// for erasures that come later; an erasure blanks the live tables itself
// meanwhile.
// It is safe for concurrent use once loaded.
type Snapshot struct {
	q *readmodel.Queries

	mu      sync.Mutex
	keys    map[snapshotKey][]byte
	hashKey []byte
	// opened remembers each sealed user opened, for the several read
	// models that show the same upload's user.
	opened map[openedKey]Opened
}

type openedKey struct {
	tenant string
	user   domain.SealedUser
}

type snapshotKey struct {
	tenant string
	id     uuid.UUID
}

// NewSnapshot prepares a snapshot over q's database; it reads nothing yet.
func NewSnapshot(q *readmodel.Queries) *Snapshot {
	return &Snapshot{q: q}
}

// ID is the pseudonym a document's user is keyed by, as Open would give
// it, without a user key: the event's own, or for a schema-1 user the id
// derived from the address.
func (s *Snapshot) ID(ctx context.Context, u domain.SealedUser) (string, error) {
	if u.ID != "" || u.Sealed != "" {
		return u.ID, nil
	}
	if u.Plain == nil || u.Plain.Email == "" {
		return "", nil
	}
	hk, err := s.loadedHashKey(ctx)
	if err != nil {
		return "", err
	}
	return LegacyID(emailHash(hk, u.Plain.Email)), nil
}

// Load reads every live key; Open uses them from then on.
func (s *Snapshot) Load(ctx context.Context) error {
	rows, err := s.q.ListLiveUserKeys(ctx)
	if err != nil {
		return fmt.Errorf("personal: read user keys: %w", err)
	}
	keys := make(map[snapshotKey][]byte, len(rows))
	for _, r := range rows {
		key, err := unwrapUserKey(r.Tenant, r.UserID, r.Key)
		if err != nil {
			return err
		}
		keys[snapshotKey{r.Tenant, r.UserID}] = key
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.opened = keys, map[openedKey]Opened{}
	return nil
}

// Open is Keys.Open with the keys read by Load. A damaged sealed user is
// ErrUnreadable, as there.
func (s *Snapshot) Open(ctx context.Context, tenant string, u domain.SealedUser) (Opened, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		return Opened{}, fmt.Errorf("personal: snapshot opened before Load")
	}
	ok := openedKey{tenant: tenant, user: domain.SealedUser{ID: u.ID, Sealed: u.Sealed, Private: u.Private}}
	if u.Plain == nil {
		if o, found := s.opened[ok]; found {
			return o, nil
		}
	}
	key := func(_ context.Context, tenant string, id uuid.UUID) ([]byte, error) {
		k, ok := s.keys[snapshotKey{tenant, id}]
		if !ok {
			return nil, pgx.ErrNoRows
		}
		return k, nil
	}
	o, err := open(ctx, s.q, key, s.hashKeyLocked, tenant, u)
	if err == nil && u.Plain == nil {
		s.opened[ok] = o
	}
	return o, err
}

func (s *Snapshot) loadedHashKey(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hashKeyLocked(ctx)
}

func (s *Snapshot) hashKeyLocked(ctx context.Context) ([]byte, error) {
	if s.hashKey == nil {
		hk, err := hashKeyIn(ctx, s.q)
		if err != nil {
			return nil, fmt.Errorf("personal: %w", err)
		}
		s.hashKey = hk
	}
	return s.hashKey, nil
}
