package seal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/uuid"

	"tally/migrations/pgtest"
	"tally/readmodel"
)

func useRing(t *testing.T, current []byte, previous ...[]byte) *Ring {
	t.Helper()
	r, err := NewRing(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	old := Swap(r)
	t.Cleanup(func() { Swap(old) })
	return r
}

func TestSealedValuesNameTheirKey(t *testing.T) {
	key, _ := NewKey()
	box, _ := New(key)
	sealed := box.Seal([]byte("x"), nil)
	if id, ok := SealedKeyID(sealed); !ok || id != box.KeyID() {
		t.Fatalf("sealed value names %v %v, want %v", id, ok, box.KeyID())
	}
	// A value sealed before key ids (nonce first) still opens.
	legacy := box.aead.Seal(make([]byte, 12), make([]byte, 12), []byte("old"), nil)
	if got, err := box.Open(legacy, nil); err != nil || string(got) != "old" {
		t.Fatalf("legacy value: %q %v", got, err)
	}
}

// Keys stored before master keys existed are wrapped at start, and open to
// the same key afterwards: nothing sealed with them is lost.
func TestWrapStoredKeepsLegacyKeys(t *testing.T) {
	master, _ := NewKey()
	useRing(t, master)
	_, pool := pgtest.New(t)
	ctx := context.Background()
	q := readmodel.New(pool)
	legacy, _ := NewKey()
	if err := q.EnsureSecret(ctx, readmodel.EnsureSecretParams{Name: "old-key", Value: legacy}); err != nil {
		t.Fatal(err)
	}
	userKey, _ := NewKey()
	uid := uuid.New()
	if _, err := q.InsertUserKey(ctx, readmodel.InsertUserKeyParams{Tenant: "t", UserID: uid, EmailHash: []byte("h"), Key: userKey}); err != nil {
		t.Fatal(err)
	}
	done, err := WrapStored(ctx, q)
	if err != nil || done.Secrets != 1 || done.UserKeys != 1 {
		t.Fatalf("WrapStored = %+v, %v", done, err)
	}
	stored, _ := q.GetSecret(ctx, "old-key")
	if _, ok := WrappedBy(stored); !ok {
		t.Fatalf("secret still in the clear: %x", stored)
	}
	got, err := SharedKey(ctx, q, "old-key")
	if err != nil || !bytes.Equal(got, legacy) {
		t.Fatalf("SharedKey after wrapping = %x %v, want the old key", got, err)
	}
	storedUser, _ := q.GetUserKey(ctx, readmodel.GetUserKeyParams{Tenant: "t", UserID: uid})
	r, _ := Installed()
	if k, err := r.Unwrap(storedUser, UserKeyPlace("t", uid.String())); err != nil || !bytes.Equal(k, userKey) {
		t.Fatalf("user key after wrapping = %x %v", k, err)
	}
	// A wrapped key moved to another row does not open there.
	if _, err := r.Unwrap(stored, SecretPlace("other")); !errors.Is(err, ErrOpen) {
		t.Fatalf("moved key: %v, want ErrOpen", err)
	}
	if done, err := WrapStored(ctx, q); err != nil || done.Secrets+done.UserKeys != 0 {
		t.Fatalf("second WrapStored = %+v, %v", done, err)
	}
}

// Rotation: processes read under both keys while Rewrap moves every data
// key to the new one; after it the old key is not needed.
func TestRewrapMovesKeysToTheNewMasterKey(t *testing.T) {
	oldKey, _ := NewKey()
	useRing(t, oldKey)
	_, pool := pgtest.New(t)
	ctx := context.Background()
	q := readmodel.New(pool)
	before, err := SharedKey(ctx, q, "k")
	if err != nil {
		t.Fatal(err)
	}
	newKey, _ := NewKey()
	useRing(t, newKey)
	if _, err := SharedKey(ctx, q, "k"); !errors.Is(err, ErrNoMasterKey) {
		t.Fatalf("new key alone before the rotation: %v, want ErrNoMasterKey", err)
	}
	useRing(t, newKey, oldKey)
	if got, err := SharedKey(ctx, q, "k"); err != nil || !bytes.Equal(got, before) {
		t.Fatalf("during the rotation: %x %v", got, err)
	}
	done, err := Rewrap(ctx, q)
	if err != nil || done.Secrets != 1 {
		t.Fatalf("Rewrap = %+v, %v", done, err)
	}
	useRing(t, newKey)
	if got, err := SharedKey(ctx, q, "k"); err != nil || !bytes.Equal(got, before) {
		t.Fatalf("after the rotation: %x %v", got, err)
	}
	useRing(t, oldKey)
	if _, err := SharedKey(ctx, q, "k"); err == nil {
		t.Fatal("the old master key still opens the rotated key")
	}
}

func TestMasterKeyFileIsMadeOnceWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "master.key")
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Go(func() {
			k, _, err := EnsureMasterKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("processes starting together made different master keys")
		}
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v %v", info, err)
	}
	for _, mode := range []os.FileMode{0o644, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadMasterKeyFile(path); err == nil {
			t.Fatalf("a master key file of mode %04o was accepted", mode)
		}
	}
	// Group-readable, as a Secret mounted for the pod's fsGroup.
	if err := os.Chmod(path, 0o440); err != nil {
		t.Fatal(err)
	}
	if k, err := ReadMasterKeyFile(path); err != nil || !bytes.Equal(k, keys[0]) {
		t.Fatalf("mode 0440: %v", err)
	}
}
