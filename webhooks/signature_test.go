package webhooks_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"tally/webhooks"
)

// The Standard Webhooks specification's published test vector: matching
// it means any of that specification's libraries verifies Tally's
// deliveries.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesStandardWebhooksVector(t *testing.T) {
	got, err := webhooks.Sign(vectorSecret, vectorID, vectorTimestamp, []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != vectorSignature {
		t.Fatalf("Sign = %s, want %s", got, vectorSignature)
	}
}

func TestVerify(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	ts := strconv.Itoa(vectorTimestamp)
	other, _ := webhooks.NewSecret()
	otherSig, _ := webhooks.Sign(other, vectorID, vectorTimestamp, []byte(vectorBody))
	tests := []struct {
		name, secret, id, ts, sig, body string
		now                             time.Time
		want                            error
	}{
		{"vector", vectorSecret, vectorID, ts, vectorSignature, vectorBody, at, nil},
		{"one of several signatures, other versions ignored", vectorSecret, vectorID, ts, "v2,abc " + otherSig + " " + vectorSignature, vectorBody, at, nil},
		{"altered body", vectorSecret, vectorID, ts, vectorSignature, `{"test": 1}`, at, webhooks.ErrNoSignature},
		{"other id", vectorSecret, "msg_other", ts, vectorSignature, vectorBody, at, webhooks.ErrNoSignature},
		{"other secret", other, vectorID, ts, vectorSignature, vectorBody, at, webhooks.ErrNoSignature},
		{"signature without version", vectorSecret, vectorID, ts, strings.TrimPrefix(vectorSignature, "v1,"), vectorBody, at, webhooks.ErrNoSignature},
		{"too old", vectorSecret, vectorID, ts, vectorSignature, vectorBody, at.Add(6 * time.Minute), webhooks.ErrBadTimestamp},
		{"from the future", vectorSecret, vectorID, ts, vectorSignature, vectorBody, at.Add(-6 * time.Minute), webhooks.ErrBadTimestamp},
		{"timestamp not a number", vectorSecret, vectorID, "yesterday", vectorSignature, vectorBody, at, webhooks.ErrBadTimestamp},
		{"secret without prefix", strings.TrimPrefix(vectorSecret, "whsec_"), vectorID, ts, vectorSignature, vectorBody, at, webhooks.ErrBadSecret},
		{"secret not base64", "whsec_!!", vectorID, ts, vectorSignature, vectorBody, at, webhooks.ErrBadSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := webhooks.Verify(tc.secret, tc.id, tc.ts, tc.sig, []byte(tc.body), tc.now, 5*time.Minute)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewSecretIsFreshAndUsable(t *testing.T) {
	a, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := webhooks.NewSecret()
	if a == b || !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+44 {
		t.Fatalf("secrets %q %q", a, b)
	}
	sig, err := webhooks.Sign(a, "evt", 1, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if err := webhooks.Verify(a, "evt", "1", sig, []byte("{}"), time.Unix(1, 0), time.Minute); err != nil {
		t.Fatal(err)
	}
}

// FuzzVerify: Verify never panics on any header or body, accepts what Sign
// made for the same inputs, and refuses it for any other body.
func FuzzVerify(f *testing.F) {
	f.Add(vectorID, strconv.Itoa(vectorTimestamp), vectorSignature, []byte(vectorBody), []byte(`{}`))
	f.Add("", "", "", []byte{}, []byte{0})
	f.Add("x", "-1", "v1, v1,, ,v1", []byte("a"), []byte("b"))
	f.Add("id", "99999999999999999999", "v1,====", []byte("\x00"), []byte("\x01"))
	f.Fuzz(func(t *testing.T, id, ts, sigHeader string, body, other []byte) {
		now := time.Unix(vectorTimestamp, 0)
		_ = webhooks.Verify(vectorSecret, id, ts, sigHeader, body, now, time.Hour)
		sig, err := webhooks.Sign(vectorSecret, id, vectorTimestamp, body)
		if err != nil {
			t.Fatal(err)
		}
		stamp := strconv.Itoa(vectorTimestamp)
		if err := webhooks.Verify(vectorSecret, id, stamp, sig, body, now, time.Minute); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if string(other) != string(body) {
			if err := webhooks.Verify(vectorSecret, id, stamp, sig, other, now, time.Minute); err == nil {
				t.Fatal("signature accepted for another body")
			}
		}
	})
}
