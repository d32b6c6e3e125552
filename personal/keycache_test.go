package personal

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"tally/domain"
	"tally/migrations/pgtest"
	"tally/readmodel"
)

// Under WithKeyCache, a transaction reads each user's key once and opens
// what it opened without it; an erased user's missing key is not kept.
func TestKeyCacheInOneTransaction(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	keys := New(pool)
	ann := domain.User{Name: "Ann Example", Email: "ann@example.com"}
	bob := domain.User{Name: "Bob Example", Email: "bob@example.com"}
	sa, err := keys.SealUpload(ctx, "acme", ann, domain.Private{Filename: "ann.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	sa2, err := keys.SealUpload(ctx, "acme", ann, domain.Private{Filename: "ann-2.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := keys.SealUpload(ctx, "acme", bob, domain.Private{Filename: "bob.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Erase(ctx, "acme", bob.Email); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		q := readmodel.New(tx)
		cached := WithKeyCache(ctx)
		for _, s := range []domain.SealedUser{sa, sa2, sb} {
			want, err := OpenIn(ctx, q, "acme", s)
			if err != nil {
				return err
			}
			for range 2 {
				got, err := OpenIn(cached, q, "acme", s)
				if err != nil {
					return err
				}
				if got != want {
					t.Errorf("cached open %+v, uncached %+v", got, want)
				}
			}
		}
		cache := cached.Value(keyCacheKey{}).(map[userRef][]byte)
		if len(cache) != 1 {
			t.Errorf("%d keys kept, want Ann's alone (Bob's is erased)", len(cache))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
