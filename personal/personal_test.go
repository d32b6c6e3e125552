package personal_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/readmodel"
)

var ann = domain.User{Name: "Ann Example", Email: "ann@example.com"}

func TestSealOpenErase(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	keys := personal.New(pool)
	s, err := keys.Seal(ctx, "acme", domain.User{Name: "Ann Example", Email: " Ann@Example.com "})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || s.Sealed == "" || s.Plain != nil || strings.Contains(s.Sealed, "ann") {
		t.Fatalf("sealed %+v", s)
	}
	raw, _ := base64.StdEncoding.DecodeString(s.Sealed)
	if strings.Contains(string(raw), "ann@example.com") {
		t.Fatal("the sealed user holds the address in the clear")
	}
	// The same address keeps its id; another address or tenant gets another.
	again, _ := keys.Seal(ctx, "acme", ann)
	bob, _ := keys.Seal(ctx, "acme", domain.User{Email: "bob@example.com"})
	other, _ := keys.Seal(ctx, "globex", ann)
	if again.ID != s.ID || bob.ID == s.ID || other.ID == s.ID || again.Sealed == s.Sealed {
		t.Fatalf("ids: %s %s %s %s", s.ID, again.ID, bob.ID, other.ID)
	}
	opened, err := keys.Open(ctx, "acme", s)
	if err != nil || opened.User != ann || opened.ID != s.ID || opened.Erased {
		t.Fatalf("open: %+v %v", opened, err)
	}
	// A sealed user copied onto another tenant or id does not open.
	if _, err := keys.Open(ctx, "globex", domain.SealedUser{ID: other.ID, Sealed: s.Sealed}); !errors.Is(err, personal.ErrUnreadable) {
		t.Fatal("a sealed user opened under another tenant's id")
	}
	if _, err := keys.Open(ctx, "acme", domain.SealedUser{ID: "not-a-uuid", Sealed: s.Sealed}); !errors.Is(err, personal.ErrUnreadable) {
		t.Fatal("a malformed id opened")
	}
	if none, err := keys.Seal(ctx, "acme", domain.User{Name: "No Address"}); err != nil || none != (domain.SealedUser{}) {
		t.Fatalf("a user without an address: %+v %v", none, err)
	}

	if erased, err := keys.Erased(ctx, "acme", ann.Email); err != nil || erased {
		t.Fatalf("erased before the erasure: %v %v", erased, err)
	}
	ids, err := keys.Erase(ctx, "acme", "ANN@example.com")
	if err != nil || len(ids) != 2 || ids[0] != s.ID {
		t.Fatalf("erase: %v %v", ids, err)
	}
	for _, sealed := range []domain.SealedUser{s, again} {
		if o, err := keys.Open(ctx, "acme", sealed); err != nil || !o.Erased || o.User != (domain.User{}) || o.ID != s.ID {
			t.Fatalf("open after erasure: %+v %v", o, err)
		}
	}
	if o, _ := keys.Open(ctx, "globex", other); o.User != ann {
		t.Fatalf("the same address in another tenant was erased too: %+v", o)
	}
	if o, _ := keys.Open(ctx, "acme", bob); o.User.Email != "bob@example.com" {
		t.Fatalf("another user was erased too: %+v", o)
	}
	// Erasing again is no error and names the same ids.
	if again, err := keys.Erase(ctx, "acme", "ann@example.com"); err != nil || len(again) != 2 {
		t.Fatalf("erase again: %v %v", again, err)
	}
	if _, err := keys.Erase(ctx, "acme", "nobody@example.com"); !errors.Is(err, domain.ErrUserNotFound) {
		t.Fatalf("erase of an unknown address: %v", err)
	}
	if erased, err := keys.Erased(ctx, "acme", ann.Email); err != nil || !erased {
		t.Fatalf("not erased after the erasure: %v %v", erased, err)
	}
	// The address comes back as a new user; the old data stays erased.
	back, err := keys.Seal(ctx, "acme", ann)
	if err != nil || back.ID == s.ID {
		t.Fatalf("seal after erasure: %+v %v", back, err)
	}
	if o, _ := keys.Open(ctx, "acme", back); o.User != ann {
		t.Fatalf("open the new user: %+v", o)
	}
	if erased, err := keys.Erased(ctx, "acme", ann.Email); err != nil || erased {
		t.Fatalf("erased after a new upload: %v %v", erased, err)
	}
	if o, _ := keys.Open(ctx, "acme", s); !o.Erased {
		t.Fatalf("the old user opens again after a new upload: %+v", o)
	}
	// Nothing in the database names the address.
	var dump string
	if err := pool.QueryRow(ctx, "SELECT string_agg(row_to_json(k)::text, ' ') FROM user_keys k").Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dump, "ann@") || strings.Contains(dump, "Ann") {
		t.Fatalf("user_keys names the user: %s", dump)
	}
}

func TestSchemaOneUsers(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	keys := personal.New(pool)
	legacy := domain.SealedUser{Plain: &domain.User{Name: "Ann Example", Email: "Ann@example.com"}}
	o, err := keys.Open(ctx, "acme", legacy)
	if err != nil || o.User != ann || o.ID == "" || o.Erased {
		t.Fatalf("open a schema-1 user: %+v %v", o, err)
	}
	// Inside a transaction, as projectors open, with the same id.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		in, err := personal.OpenIn(ctx, readmodel.New(tx), "acme", legacy)
		if err != nil || in != o {
			t.Fatalf("OpenIn: %+v %v, Open: %+v", in, err, o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if none, err := keys.Open(ctx, "acme", domain.SealedUser{Plain: &domain.User{}}); err != nil || none != (personal.Opened{}) {
		t.Fatalf("a schema-1 document without a user: %+v %v", none, err)
	}
	// Known only from the read models (no key): the address is erasable,
	// and its schema-1 documents then open blank, under the same id.
	if _, err := keys.Erase(ctx, "acme", "ann@example.com"); !errors.Is(err, domain.ErrUserNotFound) {
		t.Fatalf("erase of an address the read models do not show: %v", err)
	}
	if err := readmodel.New(pool).SetEmailEnabled(ctx, readmodel.SetEmailEnabledParams{Tenant: "acme", UserEmail: "ann@example.com"}); err != nil {
		t.Fatal(err)
	}
	ids, err := keys.Erase(ctx, "acme", "ann@example.com")
	if err != nil || len(ids) != 1 || ids[0] != o.ID {
		t.Fatalf("erase a schema-1 user: %v %v (id %s)", ids, err, o.ID)
	}
	if after, err := keys.Open(ctx, "acme", legacy); err != nil || !after.Erased || after.User != (domain.User{}) || after.ID != o.ID {
		t.Fatalf("a schema-1 user after erasure: %+v %v", after, err)
	}
	if enabled, _ := readmodel.New(pool).EmailEnabled(ctx, readmodel.EmailEnabledParams{Tenant: "acme", UserEmail: "ann@example.com"}); !enabled {
		t.Fatal("the erased address's preference was kept")
	}
}

// TestConcurrentSealsAgree: processes sealing the same new address at once
// (each with its own Keys, as separate processes would) end up with one
// key and one id.
func TestConcurrentSealsAgree(t *testing.T) {
	dsn, _ := pgtest.New(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 16)
	var procs []*personal.Keys
	for range 4 {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		procs = append(procs, personal.New(pool))
	}
	for i := range ids {
		wg.Go(func() {
			s, err := procs[i%len(procs)].Seal(ctx, "acme", ann)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = s.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent seals made several users: %v", ids)
		}
	}
	// An erasure by one process holds at once in every other: nothing is
	// cached across it.
	s, _ := procs[1].Seal(ctx, "acme", ann)
	if o, _ := procs[2].Open(ctx, "acme", s); o.User != ann {
		t.Fatalf("open before erasure: %+v", o)
	}
	if _, err := procs[0].Erase(ctx, "acme", ann.Email); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs[1:] {
		if o, err := p.Open(ctx, "acme", s); err != nil || !o.Erased {
			t.Fatalf("another process opens an erased user: %+v %v", o, err)
		}
		if next, err := p.Seal(ctx, "acme", ann); err != nil || next.ID == s.ID {
			t.Fatalf("another process seals with an erased key: %+v %v", next, err)
		}
	}
}

// BenchmarkSeal is the cost sealing adds to an upload of a known user:
// one indexed read of the key and an AES-GCM seal.
func BenchmarkSeal(b *testing.B) {
	_, pool := pgtest.New(b)
	ctx := context.Background()
	keys := personal.New(pool)
	if _, err := keys.Seal(ctx, "acme", ann); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := keys.Seal(ctx, "acme", ann); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen is the cost of opening a user (projectors, notifier).
func BenchmarkOpen(b *testing.B) {
	_, pool := pgtest.New(b)
	ctx := context.Background()
	keys := personal.New(pool)
	s, err := keys.Seal(ctx, "acme", ann)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := keys.Open(ctx, "acme", s); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzOpen feeds sealed users as an event could carry them: whatever the
// bytes, opening answers with a user, an erasure or ErrUnreadable, never
// a panic, and never a user that was not sealed.
func FuzzOpen(f *testing.F) {
	_, pool := pgtest.New(f)
	ctx := context.Background()
	keys := personal.New(pool)
	s, err := keys.Seal(ctx, "acme", ann)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.ID, s.Sealed, "", "")
	f.Add(s.ID, s.Sealed[:10], "", "")
	f.Add("", "", "Ann", "ann@example.com")
	f.Add("0192f000-0000-7000-8000-000000000000", "AAAA", "", "")
	f.Add("x", "%%%", "", "")
	f.Fuzz(func(t *testing.T, id, sealed, name, email string) {
		u := domain.SealedUser{ID: id, Sealed: sealed}
		if name != "" || email != "" {
			u.Plain = &domain.User{Name: name, Email: email}
		}
		o, err := keys.Open(ctx, "acme", u)
		if err != nil {
			if !errors.Is(err, personal.ErrUnreadable) {
				t.Fatalf("bad input is not ErrUnreadable: %v", err)
			}
			return
		}
		if id == s.ID && sealed != s.Sealed && o.User != (domain.User{}) && o.User != ann {
			t.Fatalf("a forged sealed value opened as %+v", o.User)
		}
		if (id != "" || sealed != "") && o.User != (domain.User{}) && o.User != ann {
			t.Fatalf("opened a user no one sealed: %+v", o.User)
		}
	})
}
