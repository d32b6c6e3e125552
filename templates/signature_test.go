package templates_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tally/templates"
)

func TestBundleSignatures(t *testing.T) {
	bundle := testdata(t, "bundle-2026.11.2.json")
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	signed := templates.Sign(testSigner, bundle)
	tampered := bytes.Replace(bundle, []byte("ACME"), []byte("ACNE"), 1)
	for _, c := range []struct {
		name string
		v    templates.Verifier
		f    templates.Fetched
		want error
	}{
		{"signed", testVerifier, templates.Fetched{Data: bundle, Signature: signed}, nil},
		{"unsigned", testVerifier, templates.Fetched{Data: bundle}, templates.ErrUnsigned},
		{"unsigned, no keys", templates.Verifier{}, templates.Fetched{Data: bundle, Local: true}, templates.ErrUnsigned},
		{"signed by another key", testVerifier, templates.Fetched{Data: bundle, Signature: templates.Sign(other, bundle)}, templates.ErrBadSignature},
		{"other bytes", testVerifier, templates.Fetched{Data: tampered, Signature: signed}, templates.ErrBadSignature},
		{"empty signature file", testVerifier, templates.Fetched{Data: bundle, Signature: []byte{}}, templates.ErrBadSignature},
		{"damaged signature", testVerifier, templates.Fetched{Data: bundle, Signature: signed[:len(signed)-10]}, templates.ErrBadSignature},
		{"unsigned local, allowed", templates.Verifier{AllowUnsigned: true}, templates.Fetched{Data: bundle, Local: true}, nil},
		{"unsigned from S3, allowed", templates.Verifier{AllowUnsigned: true}, templates.Fetched{Data: bundle}, templates.ErrUnsigned},
		{"badly signed local, allowed", templates.Verifier{AllowUnsigned: true, Keys: testVerifier.Keys},
			templates.Fetched{Data: tampered, Signature: signed, Local: true}, templates.ErrBadSignature},
	} {
		c.f.Name = "b.json"
		err := c.v.Verify(&c.f)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// The update cron refuses an unsigned or wrongly signed bundle from a
// directory and keeps the active one.
func TestUpdaterRefusesUnsignedBundles(t *testing.T) {
	dir := t.TempDir()
	bundle := testdata(t, "bundle-2026.11.1.json")
	if err := os.WriteFile(filepath.Join(dir, "2026.11.1.json"), bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	u := &templates.Updater{Source: templates.DirSource{Dir: dir}, Signatures: testVerifier}
	_, err := u.RunOnce(context.Background())
	var refused *templates.RefusedError
	if !errors.As(err, &refused) || !errors.Is(err, templates.ErrUnsigned) || !strings.Contains(err.Error(), ".sig is missing") {
		t.Fatalf("unsigned: %v", err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	if err := os.WriteFile(filepath.Join(dir, "2026.11.1.json.sig"), templates.Sign(other, bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := u.RunOnce(context.Background()); !errors.As(err, &refused) || !errors.Is(err, templates.ErrBadSignature) {
		t.Fatalf("signed by an unknown key: %v", err)
	}
}

func FuzzParseSignature(f *testing.F) {
	bundle := []byte(`{"version":"1"}`)
	f.Add(templates.Sign(testSigner, bundle))
	f.Add([]byte("ed25519 0011223344556677 AAAA"))
	f.Add([]byte(""))
	f.Add([]byte("ed25519  \n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, sig, err := templates.ParseSignature(raw)
		if err != nil {
			if !errors.Is(err, templates.ErrBadSignature) {
				t.Fatalf("error %v is not ErrBadSignature", err)
			}
			return
		}
		if len(id) != 16 || len(sig) != ed25519.SignatureSize {
			t.Fatalf("parsed %q %d bytes", id, len(sig))
		}
		// Whatever parses, verifying it never panics and never passes for
		// bytes the key did not sign.
		v := templates.Verifier{Keys: testVerifier.Keys}
		if err := v.Verify(&templates.Fetched{Name: "x", Data: []byte("not signed"), Signature: raw}); err == nil {
			t.Fatal("a signature verified for bytes never signed")
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	for _, name := range []string{"bundle-2026.11.1.json", "bundle-2026.11.2.json", "bundle-2026.11.10-broken.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":"1","templates":[{"name":"a","match":{"all":["x"]},"fields":{"total":{"regex":"(a+)+$"}}}]}`))
	f.Add([]byte(`{"version":"1","templates":null,"samples":[{}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := templates.Parse(raw)
		if err != nil {
			return
		}
		// A parsed bundle checks without panicking; a checked one loads.
		if set, err := b.Check(); err == nil && set == nil {
			t.Fatal("Check returned neither a set nor an error")
		}
	})
}
