package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// ErrNoSession: the token names no live session (never made, ended,
// idle too long or past its absolute lifetime).
var ErrNoSession = errors.New("no such session")

// SessionConfig bounds a session's life.
type SessionConfig struct {
	// Idle ends a session unused this long (default 2h).
	Idle time.Duration
	// Absolute ends a session this long after sign-in however busy it is
	// (default 7 days).
	Absolute time.Duration
}

func (c *SessionConfig) setDefaults() {
	if c.Idle <= 0 {
		c.Idle = 2 * time.Hour
	}
	if c.Absolute <= 0 {
		c.Absolute = 7 * 24 * time.Hour
	}
	c.Idle = min(c.Idle, c.Absolute)
}

// Session is a signed-in browser.
type Session struct {
	// Token is the cookie's secret; only Start fills it in (Redis holds
	// its hash alone).
	Token     string
	AccountID uuid.UUID
	// CSRF is the session's anti-forgery token, sent back with every form.
	CSRF      string
	CreatedAt time.Time
	// ExpiresAt is the absolute end.
	ExpiresAt time.Time
}

// Sessions keeps sessions in Redis: one hash per session, keyed by the
// SHA-256 of its token and expiring after the idle time, and one set per
// account naming its sessions, for signing out everywhere. Any number of
// API processes share them.
type Sessions struct {
	rdb *redis.Client
	cfg SessionConfig
	now func() time.Time
}

// NewSessions returns Sessions on rdb.
func NewSessions(rdb *redis.Client, cfg SessionConfig) *Sessions {
	cfg.setDefaults()
	return &Sessions{rdb: rdb, cfg: cfg, now: time.Now}
}

// Config is the effective configuration, defaults filled in.
func (s *Sessions) Config() SessionConfig { return s.cfg }

const (
	sessionPrefix        = "tally:session:"
	accountSessionPrefix = "tally:account-sessions:"
)

func sessionKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return sessionPrefix + hex.EncodeToString(h[:])
}

// Start signs account in on a new session.
func (s *Sessions) Start(ctx context.Context, account uuid.UUID) (Session, error) {
	now := s.now()
	sess := Session{Token: randomToken(), AccountID: account, CSRF: randomToken(), CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.Absolute)}
	key := sessionKey(sess.Token)
	set := accountSessionPrefix + account.String()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "account", account.String(), "csrf", sess.CSRF, "created", strconv.FormatInt(now.Unix(), 10))
		p.Expire(ctx, key, s.cfg.Idle)
		p.SAdd(ctx, set, key)
		p.Expire(ctx, set, s.cfg.Absolute)
		return nil
	})
	if err != nil {
		return Session{}, fmt.Errorf("start session: %w", err)
	}
	return sess, nil
}

// Get returns the live session of token and pushes its idle end back.
func (s *Sessions) Get(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 100 {
		return Session{}, ErrNoSession
	}
	key := sessionKey(token)
	v, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	account, err := uuid.Parse(v["account"])
	created, cerr := strconv.ParseInt(v["created"], 10, 64)
	if err != nil || cerr != nil || v["csrf"] == "" {
		return Session{}, ErrNoSession
	}
	sess := Session{AccountID: account, CSRF: v["csrf"], CreatedAt: time.Unix(created, 0)}
	sess.ExpiresAt = sess.CreatedAt.Add(s.cfg.Absolute)
	left := sess.ExpiresAt.Sub(s.now())
	if left <= 0 {
		_ = s.rdb.Del(ctx, key).Err()
		return Session{}, ErrNoSession
	}
	if err := s.rdb.Expire(ctx, key, min(s.cfg.Idle, left)).Err(); err != nil {
		return Session{}, fmt.Errorf("refresh session: %w", err)
	}
	return sess, nil
}

// End signs one session out.
func (s *Sessions) End(ctx context.Context, token string) error {
	if err := s.rdb.Del(ctx, sessionKey(token)).Err(); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndAll signs account out everywhere: after a password change, a reset,
// a removal, or on the member's request.
func (s *Sessions) EndAll(ctx context.Context, account uuid.UUID) error {
	set := accountSessionPrefix + account.String()
	keys, err := s.rdb.SMembers(ctx, set).Result()
	if err != nil {
		return fmt.Errorf("end sessions of %s: %w", account, err)
	}
	if err := s.rdb.Del(ctx, append(keys, set)...).Err(); err != nil {
		return fmt.Errorf("end sessions of %s: %w", account, err)
	}
	return nil
}
