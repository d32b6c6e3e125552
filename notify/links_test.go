package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"tally/migrations/pgtest"
	"tally/readmodel"
)

func TestUnsubscribeTokensExpire(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	l := NewLinks("https://tally.example.com", readmodel.New(pool))
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	token, err := l.Token(ctx, "acme", "Bob@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(TokenTTL - time.Minute)
	if tenant, email, err := l.Verify(ctx, token); err != nil || tenant != "acme" || email != "bob@example.com" {
		t.Fatalf("a day before expiry: %q %q %v", tenant, email, err)
	}
	now = now.Add(time.Minute)
	if _, _, err := l.Verify(ctx, token); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("at expiry: %v", err)
	}
	// A token signed before tokens carried an expiry does not work.
	key, _ := l.signingKey(ctx)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("acme\nbob@example.com"))
	legacy := base64.RawURLEncoding.EncodeToString([]byte("acme\nbob@example.com")) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if _, _, err := l.Verify(ctx, legacy); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("a token without expiry: %v", err)
	}
	if _, _, err := l.Verify(ctx, token+"x"); !errors.Is(err, ErrBadToken) {
		t.Fatalf("a tampered token: %v", err)
	}
}
