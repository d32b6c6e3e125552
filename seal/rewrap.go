package seal

import (
	"context"
	"fmt"

	"tally/readmodel"
)

// Rewrapped counts the stored data keys a Rewrap changed.
type Rewrapped struct {
	Secrets, UserKeys int
	// Current is the id of the master key they are wrapped with now.
	Current KeyID
}

// WrapStored wraps the data keys stored in the clear (before master keys
// existed) under the current master key. Every process runs it at start;
// it changes nothing once they are wrapped, and no data key is lost: the
// same key is stored wrapped.
func WrapStored(ctx context.Context, q *readmodel.Queries) (Rewrapped, error) {
	return rewrap(ctx, q, false)
}

// Rewrap wraps every stored data key that is not wrapped by the current
// master key under it (`tally keys rotate`). Keys wrapped by another
// master key must be readable: that key is in the ring as a previous one.
// Processes keep running meanwhile: each row changes in one statement,
// compare-and-set, and a process reads a key under whichever master key
// it names.
func Rewrap(ctx context.Context, q *readmodel.Queries) (Rewrapped, error) {
	return rewrap(ctx, q, true)
}

func rewrap(ctx context.Context, q *readmodel.Queries, all bool) (Rewrapped, error) {
	r, err := Installed()
	if err != nil {
		return Rewrapped{}, err
	}
	done := Rewrapped{Current: r.CurrentID()}
	needs := func(stored []byte) bool {
		if len(stored) == KeySize {
			return true
		}
		id, ok := WrappedBy(stored)
		return all && ok && id != r.CurrentID()
	}
	secrets, err := q.ListSecretValues(ctx)
	if err != nil {
		return done, fmt.Errorf("list secrets: %w", err)
	}
	for _, s := range secrets {
		if !needs(s.Value) {
			continue
		}
		key, err := r.Unwrap(s.Value, SecretPlace(s.Name))
		if err != nil {
			return done, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		wrapped, err := r.Wrap(key, SecretPlace(s.Name))
		if err != nil {
			return done, err
		}
		n, err := q.SwapSecretValue(ctx, readmodel.SwapSecretValueParams{Name: s.Name, OldValue: s.Value, NewValue: wrapped})
		if err != nil {
			return done, fmt.Errorf("store secret %s: %w", s.Name, err)
		}
		done.Secrets += int(n)
	}
	users, err := q.ListStoredUserKeys(ctx, !all)
	if err != nil {
		return done, fmt.Errorf("list user keys: %w", err)
	}
	for _, u := range users {
		if !needs(u.Key) {
			continue
		}
		where := UserKeyPlace(u.Tenant, u.UserID.String())
		key, err := r.Unwrap(u.Key, where)
		if err != nil {
			return done, fmt.Errorf("user key %s/%s: %w", u.Tenant, u.UserID, err)
		}
		wrapped, err := r.Wrap(key, where)
		if err != nil {
			return done, err
		}
		n, err := q.SwapUserKey(ctx, readmodel.SwapUserKeyParams{Tenant: u.Tenant, UserID: u.UserID, OldKey: u.Key, NewKey: wrapped})
		if err != nil {
			return done, fmt.Errorf("store user key %s/%s: %w", u.Tenant, u.UserID, err)
		}
		done.UserKeys += int(n)
	}
	return done, nil
}
