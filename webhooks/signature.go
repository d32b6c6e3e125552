package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a delivery, as in the Standard Webhooks specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a signing secret; the rest is the key in standard
// base64, as Standard Webhooks libraries expect.
const secretPrefix = "whsec_"

// secretBytes is the key length: 32 bytes, as long as the HMAC-SHA256
// output, within the 24-64 bytes the specification allows.
const secretBytes = 32

// Errors of Verify, for receivers that branch on them.
var (
	ErrBadSecret    = errors.New("webhook secret is not whsec_<base64>")
	ErrNoSignature  = errors.New("no v1 signature matches")
	ErrBadTimestamp = errors.New("webhook timestamp missing, malformed or outside the tolerance")
)

// NewSecret returns a fresh signing secret, whsec_<base64 of 32 random
// bytes>.
func NewSecret() (string, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("make webhook secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// secretKey decodes the HMAC key of a whsec_ secret.
func secretKey(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Sign returns the webhook-signature header value for one delivery:
// "v1,<base64 of HMAC-SHA256(key, id + "." + timestamp + "." + body)>".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, timestamp, body)), nil
}

func mac(key []byte, id string, timestamp int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(strconv.FormatInt(timestamp, 10)))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a delivery as a receiver should: the timestamp lies within
// tolerance of now (against replays of old requests), and one of the
// space-separated signatures in signatureHeader is a valid v1 signature.
// Signatures of other versions are ignored, so a receiver keeps working
// when a sender adds a new scheme beside v1.
func Verify(secret, id, timestampHeader, signatureHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestampHeader), 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	at := time.Unix(ts, 0)
	if at.Before(now.Add(-tolerance)) || at.After(now.Add(tolerance)) {
		return ErrBadTimestamp
	}
	want := mac(key, id, ts, body)
	for _, sig := range strings.Fields(signatureHeader) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoSignature
}
