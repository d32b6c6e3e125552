package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"tally/readmodel"
	"tally/seal"
)

// Errors of Verify and VerifyConfirm.
var (
	// ErrBadToken: a token that this deployment did not sign, or not for
	// this purpose.
	ErrBadToken = errors.New("invalid link")
	// ErrExpiredToken: a token past its expiry, or an unsubscribe token
	// made before tokens carried one.
	ErrExpiredToken = errors.New("expired link")
)

// TokenTTL is how long an unsubscribe link works: long enough for a
// monthly report read late, short enough that an old forwarded e-mail
// stops speaking for its reader.
const TokenTTL = 90 * 24 * time.Hour

const secretName = "unsubscribe-link-key"

// Links builds the URLs e-mails point to. Unsubscribe links carry a token
// signed with a key kept in the database, so every process of a deployment
// makes and accepts the same links and no login is needed to opt out.
type Links struct {
	publicURL string
	queries   *readmodel.Queries
	now       func() time.Time
	mu        sync.Mutex
	key       []byte
}

// NewLinks returns links under publicURL (e.g. https://tally.example.com).
func NewLinks(publicURL string, q *readmodel.Queries) *Links {
	return &Links{publicURL: strings.TrimRight(publicURL, "/"), queries: q, now: time.Now}
}

// Document is where a user sees one document.
func (l *Links) Document(id string) string { return l.publicURL + "/v1/documents/" + id }

// Unsubscribe is the link that turns a user's e-mails off.
func (l *Links) Unsubscribe(ctx context.Context, tenant, email string) (string, error) {
	token, err := l.Token(ctx, tenant, email)
	if err != nil {
		return "", err
	}
	return l.publicURL + "/v1/unsubscribe?token=" + url.QueryEscape(token), nil
}

// Token signs tenant, e-mail and an expiry TokenTTL from now.
func (l *Links) Token(ctx context.Context, tenant, email string) (string, error) {
	return l.sign(ctx, tenant, normaliseEmail(email), strconv.FormatInt(l.now().Add(TokenTTL).Unix(), 10))
}

// Verify returns the tenant and e-mail a token was made for:
// ErrBadToken for one this deployment did not sign, ErrExpiredToken for
// one past its expiry.
func (l *Links) Verify(ctx context.Context, token string) (tenant, email string, err error) {
	parts, err := l.open(ctx, token)
	if err != nil {
		return "", "", err
	}
	if len(parts) == 2 {
		return "", "", ErrExpiredToken // signed before tokens expired
	}
	if len(parts) != 3 {
		return "", "", ErrBadToken
	}
	if err := l.unexpired(parts[2]); err != nil {
		return "", "", err
	}
	return parts[0], parts[1], nil
}

// ConfirmTTL is how long a confirmation link works.
const ConfirmTTL = 14 * 24 * time.Hour

// Confirm is the link by which an address's owner agrees to Tally's
// e-mails.
func (l *Links) Confirm(ctx context.Context, tenant, email string) (string, error) {
	token, err := l.sign(ctx, "confirm", tenant, normaliseEmail(email), strconv.FormatInt(l.now().Add(ConfirmTTL).Unix(), 10))
	if err != nil {
		return "", err
	}
	return l.publicURL + "/v1/confirm-email?token=" + url.QueryEscape(token), nil
}

// VerifyConfirm returns the tenant and e-mail of a confirmation token,
// with the errors of Verify.
func (l *Links) VerifyConfirm(ctx context.Context, token string) (tenant, email string, err error) {
	parts, err := l.open(ctx, token)
	if err != nil {
		return "", "", err
	}
	if len(parts) != 4 || parts[0] != "confirm" {
		return "", "", ErrBadToken
	}
	if err := l.unexpired(parts[3]); err != nil {
		return "", "", err
	}
	return parts[1], parts[2], nil
}

func (l *Links) unexpired(unix string) error {
	expires, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return ErrBadToken
	}
	if !l.now().Before(time.Unix(expires, 0)) {
		return ErrExpiredToken
	}
	return nil
}

// sign joins parts (none holds a newline) and signs them.
func (l *Links) sign(ctx context.Context, parts ...string) (string, error) {
	key, err := l.signingKey(ctx)
	if err != nil {
		return "", err
	}
	payload := strings.Join(parts, "\n")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// open checks a token's signature and returns its parts.
func (l *Links) open(ctx context.Context, token string) ([]string, error) {
	p64, sig64, ok := strings.Cut(token, ".")
	if !ok {
		return nil, ErrBadToken
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.DecodeString(sig64)
	if err1 != nil || err2 != nil {
		return nil, ErrBadToken
	}
	key, err := l.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, ErrBadToken
	}
	return strings.Split(string(payload), "\n"), nil
}

// signingKey loads the deployment's key, making it on first use; the
// first writer wins, so concurrent processes agree.
func (l *Links) signingKey(ctx context.Context) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.key != nil {
		return l.key, nil
	}
	key, err := seal.SharedKey(ctx, l.queries, secretName)
	if err != nil {
		return nil, fmt.Errorf("unsubscribe links: %w", err)
	}
	l.key = key
	return key, nil
}
