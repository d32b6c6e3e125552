package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Data keys (the rows of the secrets table and of user_keys) are stored
// wrapped by a master key that never enters the database: a dump of the
// database, or a copy of the stream, opens nothing without it. A wrapped
// key names the master key it was wrapped with, so several master keys can
// be readable at once while a rotation re-wraps them.

// wrapMagic starts every wrapped data key; an unwrapped (legacy) key is
// exactly KeySize bytes and never has this length.
var wrapMagic = []byte("TKW1")

// KeyIDSize is the length of a key id: a truncated hash of the key, which
// names it without telling anything of it.
const KeyIDSize = 8

// wrappedSize is magic, master key id, nonce, key, GCM tag.
const wrappedSize = 4 + KeyIDSize + 12 + KeySize + 16

// ErrNoMasterKey means a wrapped key names a master key this process was
// not given (TALLY_MASTER_KEY or TALLY_MASTER_KEY_PREVIOUS).
var ErrNoMasterKey = errors.New("the master key this data key was wrapped with is not configured")

// KeyID is the id of a key: a truncated SHA-256 under a fixed label.
type KeyID [KeyIDSize]byte

func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

func keyID(label string, key []byte) KeyID {
	h := sha256.New()
	h.Write([]byte(label))
	h.Write(key)
	var id KeyID
	copy(id[:], h.Sum(nil))
	return id
}

type master struct {
	id   KeyID
	aead cipher.AEAD
}

func newMaster(key []byte) (*master, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: master key of %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &master{id: keyID("tally-master-key\x00", key), aead: aead}, nil
}

// Ring is the master keys a process knows: the current one wraps, every
// one unwraps what names it.
type Ring struct {
	current *master
	all     map[KeyID]*master
}

// NewRing returns a ring whose current key is current; previous keys stay
// readable during a rotation.
func NewRing(current []byte, previous ...[]byte) (*Ring, error) {
	cur, err := newMaster(current)
	if err != nil {
		return nil, err
	}
	r := &Ring{current: cur, all: map[KeyID]*master{cur.id: cur}}
	for _, p := range previous {
		m, err := newMaster(p)
		if err != nil {
			return nil, fmt.Errorf("previous %w", err)
		}
		if _, ok := r.all[m.id]; !ok {
			r.all[m.id] = m
		}
	}
	return r, nil
}

// CurrentID is the id of the key that wraps.
func (r *Ring) CurrentID() KeyID { return r.current.id }

// Wrap seals a data key under the current master key; where binds it to
// its row (see SecretPlace, UserKeyPlace), so a wrapped key copied onto
// another row does not open.
func (r *Ring) Wrap(key []byte, where string) ([]byte, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: data key of %d bytes, want %d", len(key), KeySize)
	}
	out := make([]byte, 0, wrappedSize)
	out = append(out, wrapMagic...)
	out = append(out, r.current.id[:]...)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	return r.current.aead.Seal(out, nonce, key, []byte(where)), nil
}

// Unwrap returns the data key stored as stored. A key stored before
// master keys existed (KeySize bytes, in the clear) is returned as it is;
// WrapStored wraps those at start.
func (r *Ring) Unwrap(stored []byte, where string) ([]byte, error) {
	if len(stored) == KeySize {
		return stored, nil
	}
	id, ok := WrappedBy(stored)
	if !ok {
		return nil, fmt.Errorf("seal: stored key of %d bytes is neither wrapped nor a key", len(stored))
	}
	m := r.all[id]
	if m == nil {
		return nil, fmt.Errorf("seal: master key %s: %w", id, ErrNoMasterKey)
	}
	body := stored[len(wrapMagic)+KeyIDSize:]
	key, err := m.aead.Open(nil, body[:12], body[12:], []byte(where))
	if err != nil {
		return nil, fmt.Errorf("seal: unwrap key under master key %s: %w", id, ErrOpen)
	}
	return key, nil
}

// WrappedBy returns the id of the master key a stored data key was
// wrapped with; false for a key in the clear or damaged bytes.
func WrappedBy(stored []byte) (KeyID, bool) {
	var id KeyID
	if len(stored) != wrappedSize || !bytes.HasPrefix(stored, wrapMagic) {
		return id, false
	}
	copy(id[:], stored[len(wrapMagic):])
	return id, true
}

// SecretPlace is where a key of the secrets table is bound.
func SecretPlace(name string) string { return "tally-secret\x00" + name }

// UserKeyPlace is where a user's key (user_keys) is bound.
func UserKeyPlace(tenant, userID string) string {
	return "tally-user-key\x00" + tenant + "\x00" + userID
}

var (
	ringMu sync.Mutex
	ring   *Ring
)

// Install makes r the process's ring: keys the process knew stay readable
// (a test may run several instances on one database), r's current key
// wraps from now on.
func Install(r *Ring) {
	ringMu.Lock()
	defer ringMu.Unlock()
	merged := &Ring{current: r.current, all: map[KeyID]*master{}}
	if ring != nil {
		for id, m := range ring.all {
			merged.all[id] = m
		}
	}
	for id, m := range r.all {
		merged.all[id] = m
	}
	ring = merged
}

// Swap replaces the process's ring with r (nil: none) and returns the
// one before, so a test can show what opens without a key.
func Swap(r *Ring) *Ring {
	ringMu.Lock()
	defer ringMu.Unlock()
	old := ring
	ring = r
	return old
}

// Installed returns the process's ring. A program installs one from its
// settings before it opens the database (LoadRing); tests that never do
// get a random key of their own, so no data key is ever stored in the
// clear.
func Installed() (*Ring, error) {
	ringMu.Lock()
	defer ringMu.Unlock()
	if ring != nil {
		return ring, nil
	}
	if !testing.Testing() {
		return nil, errors.New("seal: no master key loaded (TALLY_MASTER_KEY, TALLY_MASTER_KEY_FILE or DATA_DIR/master.key)")
	}
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	r, err := NewRing(key)
	if err != nil {
		return nil, err
	}
	ring = r
	return ring, nil
}

// ParseMasterKey decodes a master key given as standard base64 of
// KeySize bytes.
func ParseMasterKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not base64: %v", err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%d bytes, want %d", len(key), KeySize)
	}
	return key, nil
}

// EncodeMasterKey is the form ParseMasterKey reads.
func EncodeMasterKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// ReadMasterKeyFile reads a file holding a base64 master key. It refuses
// a file that other users may read or its group may change; its group may
// read it (a Kubernetes Secret mounted for the pod's fsGroup is 0440).
func ReadMasterKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !PrivateMode(info.Mode()) {
		return nil, fmt.Errorf("%s has mode %04o: a master key file must not be readable by other users (chmod 600)", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// PrivateMode reports whether a key file's mode keeps it from other users:
// no access for others, no writing for the group.
func PrivateMode(m os.FileMode) bool { return m.Perm()&0o027 == 0 }

// EnsureMasterKeyFile reads path, or on a first start writes a new random
// key there with mode 0600. Processes starting together agree: the key is
// written to a temporary file and linked into place, and a loser of that
// race reads the winner's.
func EnsureMasterKeyFile(path string) (key []byte, made bool, err error) {
	key, err = ReadMasterKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, false, err
	}
	fresh, err := NewKey()
	if err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master.key-*")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if _, err := tmp.WriteString(EncodeMasterKey(fresh) + "\n"); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Close(); err != nil {
		return nil, false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			key, err = ReadMasterKeyFile(path)
			return key, false, err
		}
		return nil, false, err
	}
	return fresh, true, nil
}
