package templates

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// A bundle is published with a detached signature beside it: NAME.json
// and NAME.json.sig. The signature file holds one line, "ed25519 KEYID
// SIGNATURE": the signing key's id (KeyID) and the base64 Ed25519
// signature of the bundle's exact bytes. A bundle changes what every
// document's fields say, so the update cron installs only bundles signed
// by a key in TEMPLATE_SIGNING_KEYS.

// SignatureSuffix names a bundle's signature file.
const SignatureSuffix = ".sig"

// maxSignatureBytes bounds a signature file (a line of about 110 bytes).
const maxSignatureBytes = 1024

// ErrUnsigned: a bundle came without a signature.
var ErrUnsigned = errors.New("the bundle is not signed")

// ErrBadSignature: the signature is damaged, by a key not trusted, or of
// other bytes.
var ErrBadSignature = errors.New("the bundle's signature does not verify with any key in TEMPLATE_SIGNING_KEYS")

// KeyID names a public key in a signature: the first 8 bytes of its
// SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// Sign returns the signature file for a bundle.
func Sign(priv ed25519.PrivateKey, bundle []byte) []byte {
	sig := ed25519.Sign(priv, bundle)
	return []byte("ed25519 " + KeyID(priv.Public().(ed25519.PublicKey)) + " " + base64.StdEncoding.EncodeToString(sig) + "\n")
}

// ParseSignature reads a signature file.
func ParseSignature(raw []byte) (keyID string, sig []byte, err error) {
	if len(raw) > maxSignatureBytes {
		return "", nil, fmt.Errorf("%w: signature file larger than %d bytes", ErrBadSignature, maxSignatureBytes)
	}
	fields := strings.Fields(string(bytes.TrimSpace(raw)))
	if len(fields) != 3 || fields[0] != "ed25519" {
		return "", nil, fmt.Errorf("%w: want one line \"ed25519 KEYID SIGNATURE\"", ErrBadSignature)
	}
	if _, err := hex.DecodeString(fields[1]); err != nil || len(fields[1]) != 16 {
		return "", nil, fmt.Errorf("%w: key id %q is not 16 hex digits", ErrBadSignature, truncate(fields[1], 40))
	}
	sig, err = base64.StdEncoding.DecodeString(fields[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "", nil, fmt.Errorf("%w: the signature is not base64 of %d bytes", ErrBadSignature, ed25519.SignatureSize)
	}
	return fields[1], sig, nil
}

// ParsePublicKeys reads TEMPLATE_SIGNING_KEYS: comma-separated base64
// Ed25519 public keys (32 bytes each).
func ParsePublicKeys(s string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(p)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%q is not base64 of a %d-byte Ed25519 public key", truncate(p, 20), ed25519.PublicKeySize)
		}
		keys = append(keys, ed25519.PublicKey(b))
	}
	return keys, nil
}

// Verifier decides whether a fetched bundle may be installed.
type Verifier struct {
	// Keys are the trusted public keys (TEMPLATE_SIGNING_KEYS).
	Keys []ed25519.PublicKey
	// AllowUnsigned (TEMPLATE_ALLOW_UNSIGNED) lets an unsigned bundle
	// from a local directory through, for developing templates. A
	// bundle from S3 must be signed all the same, and a signature that
	// does not verify is refused either way.
	AllowUnsigned bool
}

// Verify checks f's signature.
func (v Verifier) Verify(f *Fetched) error {
	if f.Signature == nil {
		if v.AllowUnsigned && f.Local {
			return nil
		}
		if len(v.Keys) == 0 {
			return fmt.Errorf("%w (%s.sig is missing) and TEMPLATE_SIGNING_KEYS is empty: publish signed bundles and set the keys, "+
				"or TEMPLATE_ALLOW_UNSIGNED=true for a local directory in development", ErrUnsigned, f.Name)
		}
		return fmt.Errorf("%w: %s%s is missing", ErrUnsigned, f.Name, SignatureSuffix)
	}
	id, sig, err := ParseSignature(f.Signature)
	if err != nil {
		return err
	}
	for _, k := range v.Keys {
		if KeyID(k) == id && ed25519.Verify(k, f.Data, sig) {
			return nil
		}
	}
	return fmt.Errorf("%w (key id %s)", ErrBadSignature, id)
}
