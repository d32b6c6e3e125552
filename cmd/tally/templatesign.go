package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"tally/config"
	"tally/templates"
)

// templateVerifier is what update-cron trusts: TEMPLATE_SIGNING_KEYS, and
// unsigned local bundles with TEMPLATE_ALLOW_UNSIGNED=true.
func templateVerifier(s config.UpdateCron) (templates.Verifier, error) {
	keys, err := templates.ParsePublicKeys(s.SigningKeys)
	if err != nil {
		return templates.Verifier{}, fmt.Errorf("TEMPLATE_SIGNING_KEYS: %w", err)
	}
	return templates.Verifier{Keys: keys, AllowUnsigned: s.AllowUnsigned}, nil
}

// runTemplatesKeygen is `tally templates keygen --out FILE`: a new signing
// key, the private half written to FILE (mode 0600, never overwritten),
// the public half printed for TEMPLATE_SIGNING_KEYS.
func runTemplatesKeygen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("templates keygen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "file for the private key (made with mode 0600)")
	if err := fs.Parse(args); err != nil || *out == "" || fs.NArg() > 0 {
		return errors.New("usage: tally templates keygen --out FILE")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(priv.Seed()) + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(pub))
	return nil
}

// runTemplatesSign is `tally templates sign --key FILE BUNDLE...`: writes
// BUNDLE.sig beside each bundle.
func runTemplatesSign(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("templates sign", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	keyFile := fs.String("key", "", "private key file made by tally templates keygen")
	if err := fs.Parse(args); err != nil || *keyFile == "" || fs.NArg() == 0 {
		return errors.New("usage: tally templates sign --key FILE BUNDLE...")
	}
	info, err := os.Stat(*keyFile)
	if err != nil {
		return err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o: a signing key must be readable by its owner only (chmod 600)", *keyFile, info.Mode().Perm())
	}
	raw, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return fmt.Errorf("%s does not hold a key made by tally templates keygen", *keyFile)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	for _, name := range fs.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := templates.Parse(data); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(name+templates.SignatureSuffix, templates.Sign(priv, data), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s%s: signed with key %s\n", name, templates.SignatureSuffix, templates.KeyID(priv.Public().(ed25519.PublicKey)))
	}
	return nil
}

// signatureNote says what update-cron would make of a bundle file's
// signature (NAME.sig beside it) under TEMPLATE_SIGNING_KEYS.
func signatureNote(name string, raw []byte, getenv func(string) string) string {
	sig, err := os.ReadFile(name + templates.SignatureSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return "not signed"
	}
	if err != nil {
		return err.Error()
	}
	id, _, err := templates.ParseSignature(sig)
	if err != nil {
		return err.Error()
	}
	s, err := config.LoadUpdateCron(getenv)
	if err != nil {
		return fmt.Sprintf("signed by key %s; %v", id, err)
	}
	v, err := templateVerifier(s)
	if err != nil {
		return fmt.Sprintf("signed by key %s; %v", id, err)
	}
	if len(v.Keys) == 0 {
		return fmt.Sprintf("signed by key %s (TEMPLATE_SIGNING_KEYS is empty: not checked)", id)
	}
	if err := v.Verify(&templates.Fetched{Name: name, Data: raw, Signature: sig}); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("signature verified (key %s)", id)
}
