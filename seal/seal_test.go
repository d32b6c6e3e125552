package seal

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"tally/migrations/pgtest"
	"tally/readmodel"
)

func TestSealOpen(t *testing.T) {
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	box, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("app-password 123")
	a := box.Seal(plain, []byte("tenant-a"))
	b := box.Seal(plain, []byte("tenant-a"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are equal: the nonce is not random")
	}
	if bytes.Contains(a, plain) {
		t.Fatal("sealed value contains the plain text")
	}
	got, err := box.Open(a, []byte("tenant-a"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := box.Open(a, []byte("tenant-b")); !errors.Is(err, ErrOpen) {
		t.Fatalf("open with other aad: %v, want ErrOpen", err)
	}
	other, _ := NewKey()
	otherBox, _ := New(other)
	if _, err := otherBox.Open(a, []byte("tenant-a")); !errors.Is(err, ErrOpen) {
		t.Fatalf("open with other key: %v, want ErrOpen", err)
	}
	for _, bad := range [][]byte{nil, a[:5], append(append([]byte{}, a[:len(a)-1]...), a[len(a)-1]^1)} {
		if _, err := box.Open(bad, []byte("tenant-a")); !errors.Is(err, ErrOpen) {
			t.Fatalf("open damaged %x: %v, want ErrOpen", bad, err)
		}
	}
	if _, err := New(key[:16]); err == nil {
		t.Fatal("New accepted a 16-byte key")
	}
}

func TestSharedKeyIsMadeOnce(t *testing.T) {
	_, pool := pgtest.New(t)
	q := readmodel.New(pool)
	ctx := context.Background()
	k1, err := SharedKey(ctx, q, "test-key")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := SharedKey(ctx, q, "test-key")
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != KeySize || !bytes.Equal(k1, k2) {
		t.Fatalf("keys differ or wrong size: %x %x", k1, k2)
	}
}
