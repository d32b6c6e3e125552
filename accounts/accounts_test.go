package accounts_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"tally/accounts"
	"tally/migrations/pgtest"
)

func newRedis(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at 127.0.0.1:6379: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestPasswordHash(t *testing.T) {
	h, err := accounts.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		ok, err := accounts.CheckPassword(h, pw)
		if err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	h2, _ := accounts.HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", "$bcrypt$x", "$argon2id$v=19$m=65536,t=1,p=1$!!$AAAA"} {
		if _, err := accounts.CheckPassword(bad, "x"); err == nil {
			t.Errorf("CheckPassword accepted the malformed hash %q", bad)
		}
	}
}

func FuzzCheckPassword(f *testing.F) {
	h, _ := accounts.HashPassword("fuzz password")
	f.Add(h, "fuzz password")
	f.Add("$argon2id$v=19$m=16,t=1,p=1$c2FsdA$aGFzaA", "x")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		_, _ = accounts.CheckPassword(encoded, pw) // must not panic nor run away
	})
}

func TestInvitationSignInAndReset(t *testing.T) {
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := accounts.NewStore(pool)

	token, err := store.Invite(ctx, "acme", "Ann@Example.com", accounts.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := store.InvitationFor(ctx, token)
	if err != nil || inv.Email != "ann@example.com" || inv.Role != accounts.RoleAdmin {
		t.Fatalf("InvitationFor = %+v, %v", inv, err)
	}
	if _, err := store.AcceptInvitation(ctx, token, "Ann", "short"); !errors.Is(err, accounts.ErrInvalidInput) {
		t.Fatalf("short password: %v, want ErrInvalidInput", err)
	}
	ann, err := store.AcceptInvitation(ctx, token, "Ann", "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if ann.Tenant != "acme" || !ann.IsAdmin() || ann.Email != "ann@example.com" {
		t.Fatalf("account = %+v", ann)
	}
	if _, err := store.AcceptInvitation(ctx, token, "Eve", "another long password"); !errors.Is(err, accounts.ErrTokenInvalid) {
		t.Fatalf("second use of an invitation: %v, want ErrTokenInvalid", err)
	}
	if _, err := store.Invite(ctx, "acme", "ann@example.com", accounts.RoleMember); !errors.Is(err, accounts.ErrAccountExists) {
		t.Fatalf("inviting a member again: %v, want ErrAccountExists", err)
	}
	if _, err := store.Invite(ctx, "acme", "not an address", accounts.RoleMember); !errors.Is(err, accounts.ErrInvalidInput) {
		t.Fatalf("bad address: %v", err)
	}
	if _, err := store.Invite(ctx, "acme", "bob@example.com", "owner"); !errors.Is(err, accounts.ErrInvalidInput) {
		t.Fatalf("bad role: %v", err)
	}

	got, err := store.Authenticate(ctx, " ANN@example.com", "a long enough password")
	if err != nil || got.ID != ann.ID {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	for _, c := range []struct{ email, pw string }{{"ann@example.com", "wrong password!"}, {"nobody@example.com", "a long enough password"}} {
		if _, err := store.Authenticate(ctx, c.email, c.pw); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Errorf("Authenticate(%s) = %v, want ErrBadCredentials", c.email, err)
		}
	}

	// Reset: unknown addresses make no link; a link works once.
	if _, _, ok, err := store.RequestReset(ctx, "nobody@example.com"); ok || err != nil {
		t.Fatalf("reset for an unknown address: ok=%v err=%v", ok, err)
	}
	reset, acct, ok, err := store.RequestReset(ctx, "ann@example.com")
	if err != nil || !ok || acct.ID != ann.ID {
		t.Fatalf("RequestReset = %v %v %v", acct, ok, err)
	}
	if _, err := store.ResetPassword(ctx, reset, "the new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ResetPassword(ctx, reset, "yet another password"); !errors.Is(err, accounts.ErrTokenInvalid) {
		t.Fatalf("second reset with one link: %v", err)
	}
	if _, err := store.Authenticate(ctx, "ann@example.com", "a long enough password"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatal("the old password still works after a reset")
	}
	if _, err := store.Authenticate(ctx, "ann@example.com", "the new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ResetPassword(ctx, token, "the new password"); !errors.Is(err, accounts.ErrTokenInvalid) {
		t.Fatal("an invitation link served as a reset link")
	}
}

func TestLastAdminStays(t *testing.T) {
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := accounts.NewStore(pool)
	ann, err := store.Create(ctx, "acme", "ann@example.com", "Ann", accounts.RoleAdmin, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := store.Create(ctx, "acme", "bob@example.com", "Bob", accounts.RoleMember, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetRole(ctx, "acme", ann.ID, accounts.RoleMember); !errors.Is(err, accounts.ErrLastAdmin) {
		t.Fatalf("demoting the last admin: %v", err)
	}
	if err := store.Remove(ctx, "acme", ann.ID); !errors.Is(err, accounts.ErrLastAdmin) {
		t.Fatalf("removing the last admin: %v", err)
	}
	if err := store.SetRole(ctx, "other", bob.ID, accounts.RoleAdmin); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("another tenant's member: %v", err)
	}
	if err := store.SetRole(ctx, "acme", bob.ID, accounts.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := store.Remove(ctx, "acme", ann.ID); err != nil {
		t.Fatal(err)
	}
	list, err := store.List(ctx, "acme")
	if err != nil || len(list) != 1 || list[0].Email != "bob@example.com" {
		t.Fatalf("members = %+v, %v", list, err)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	rdb := newRedis(t)
	sessions := accounts.NewSessions(rdb, accounts.SessionConfig{Idle: time.Minute, Absolute: time.Hour})
	account := uuid.New()
	a, err := sessions.Start(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sessions.Start(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sessions.Get(ctx, a.Token)
	if err != nil || got.AccountID != account || got.CSRF != a.CSRF {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if ttl := rdb.TTL(ctx, "tally:session:"+hashHex(a.Token)).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("session idle TTL = %v, want at most a minute", ttl)
	}
	if _, err := sessions.Get(ctx, "made-up"); !errors.Is(err, accounts.ErrNoSession) {
		t.Fatalf("unknown token: %v", err)
	}
	if err := sessions.End(ctx, a.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Get(ctx, a.Token); !errors.Is(err, accounts.ErrNoSession) {
		t.Fatal("an ended session still works")
	}
	if _, err := sessions.Get(ctx, b.Token); err != nil {
		t.Fatal("ending one session ended another")
	}
	if err := sessions.EndAll(ctx, account); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Get(ctx, b.Token); !errors.Is(err, accounts.ErrNoSession) {
		t.Fatal("a session survived signing out everywhere")
	}

	// Past its absolute lifetime a session ends however busy it was.
	short := accounts.NewSessions(rdb, accounts.SessionConfig{Idle: time.Minute, Absolute: time.Second})
	c, err := short.Start(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := short.Get(ctx, c.Token)
		if errors.Is(err, accounts.ErrNoSession) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("session past its absolute end: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestThrottle(t *testing.T) {
	ctx := context.Background()
	th := accounts.NewThrottle(newRedis(t), "test-"+uuid.NewString(), 3, time.Minute)
	for i := range 3 {
		if wait, err := th.Wait(ctx, "ann"); err != nil || wait != 0 {
			t.Fatalf("try %d refused: %v %v", i, wait, err)
		}
		if err := th.Fail(ctx, "ann"); err != nil {
			t.Fatal(err)
		}
	}
	wait, err := th.Wait(ctx, "ann")
	if err != nil || wait <= 0 || wait > time.Minute {
		t.Fatalf("after 3 failures Wait = %v, %v; want a wait up to a minute", wait, err)
	}
	if wait, _ := th.Wait(ctx, "bob"); wait != 0 {
		t.Fatal("one key's failures throttled another")
	}
	if err := th.Clear(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if wait, _ := th.Wait(ctx, "ann"); wait != 0 {
		t.Fatal("Clear left the throttle on")
	}
}

func hashHex(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
