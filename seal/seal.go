// Package seal encrypts small values that must not be stored in the clear:
// mailbox app passwords, personal data inside events. A Box is AES-256-GCM
// with a random nonce per value; associated data binds a sealed value to
// where it belongs (a tenant, a user), so a value copied elsewhere does not
// open. Keys live outside the data they protect: destroying a key makes
// everything sealed with it unreadable, which is how erasure works on an
// immutable history.
package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tally/readmodel"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// ErrOpen means a sealed value could not be opened: wrong key, wrong
// associated data, or damaged bytes. GCM cannot tell these apart, and
// callers should not try to.
var ErrOpen = errors.New("sealed value does not open with this key")

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	id   KeyID
}

// sealedMark starts a sealed value that names its key: the mark, then the
// key's id. Values sealed before key ids existed start with their nonce.
const sealedMark = 0xA1

// New returns a Box for a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key of %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Box{aead: aead, id: keyID("tally-data-key\x00", key)}, nil
}

// KeyID names the Box's key; every value it seals carries it.
func (b *Box) KeyID() KeyID { return b.id }

// SealedKeyID returns the id of the key a sealed value names; false for a
// value sealed before key ids existed.
func SealedKeyID(sealed []byte) (KeyID, bool) {
	var id KeyID
	if len(sealed) < 1+KeyIDSize || sealed[0] != sealedMark {
		return id, false
	}
	copy(id[:], sealed[1:])
	return id, true
}

// NewKey returns a fresh random key.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("seal: make key: %w", err)
	}
	return key, nil
}

// Seal encrypts plain; the result carries the key's id and the nonce in
// front.
func (b *Box) Seal(plain, aad []byte) []byte {
	head := 1 + KeyIDSize
	out := make([]byte, head+b.aead.NonceSize(), head+b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	out[0] = sealedMark
	copy(out[1:], b.id[:])
	nonce := out[head:]
	// crypto/rand.Read never fails on supported platforms (it panics
	// instead), so there is no error to return.
	_, _ = rand.Read(nonce)
	return b.aead.Seal(out, nonce, plain, aad)
}

// Open decrypts a value made by Seal with the same key and aad, or one
// sealed before values named their key.
func (b *Box) Open(sealed, aad []byte) ([]byte, error) {
	if id, ok := SealedKeyID(sealed); ok && id == b.id {
		if plain, err := b.open(sealed[1+KeyIDSize:], aad); err == nil {
			return plain, nil
		}
	}
	return b.open(sealed, aad)
}

func (b *Box) open(sealed, aad []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// SharedKey loads the deployment-wide key called name from the secrets
// table, making it on first use. The first writer wins, so processes
// starting together agree on one key. It is stored wrapped by the
// process's master key (Installed) and returned unwrapped.
func SharedKey(ctx context.Context, q *readmodel.Queries, name string) ([]byte, error) {
	r, err := Installed()
	if err != nil {
		return nil, err
	}
	stored, err := q.GetSecret(ctx, name)
	if err == nil {
		return r.Unwrap(stored, SecretPlace(name))
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("load key %s: %w", name, err)
	}
	fresh, err := NewKey()
	if err != nil {
		return nil, err
	}
	wrapped, err := r.Wrap(fresh, SecretPlace(name))
	if err != nil {
		return nil, err
	}
	if err := q.EnsureSecret(ctx, readmodel.EnsureSecretParams{Name: name, Value: wrapped}); err != nil {
		return nil, fmt.Errorf("store key %s: %w", name, err)
	}
	stored, err = q.GetSecret(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", name, err)
	}
	return r.Unwrap(stored, SecretPlace(name))
}
