package config

import (
	"encoding/base64"
	"path/filepath"
	"strings"
)

// Keys says where the master key is: the key-encryption key that wraps
// every data key Tally stores in the database (package seal). It never
// enters the database. See docs/security.md#master-key.
type Keys struct {
	// MasterKey is TALLY_MASTER_KEY, the master key as standard base64 of
	// 32 bytes. Secret.
	MasterKey string
	// MasterKeyFile is TALLY_MASTER_KEY_FILE, a file (mode 0600 or 0440) holding
	// the key in that form. When neither is set the key is
	// DataDir/master.key, made on the first start.
	MasterKeyFile string
	// MasterKeyPrevious is TALLY_MASTER_KEY_PREVIOUS: comma-separated
	// earlier master keys, still read (never written) while `tally keys
	// rotate` re-wraps what they wrapped. Secret.
	MasterKeyPrevious string
	// MasterKeyPreviousFile is TALLY_MASTER_KEY_PREVIOUS_FILE, a key ring
	// file (mode 0600) of earlier master keys, one a line.
	MasterKeyPreviousFile string
}

func (k *Keys) read(r *envReader) {
	r.secret("TALLY_MASTER_KEY", &k.MasterKey)
	r.str("TALLY_MASTER_KEY_FILE", &k.MasterKeyFile)
	r.secret("TALLY_MASTER_KEY_PREVIOUS", &k.MasterKeyPrevious)
	r.str("TALLY_MASTER_KEY_PREVIOUS_FILE", &k.MasterKeyPreviousFile)
}

func (k *Keys) problems(v *validator) {
	if k.MasterKey != "" && k.MasterKeyFile != "" {
		v.fail("TALLY_MASTER_KEY_FILE", "is set together with TALLY_MASTER_KEY; set one")
	}
	if k.MasterKey != "" && !isKey(k.MasterKey) {
		v.fail("TALLY_MASTER_KEY", "must be standard base64 of 32 bytes (e.g. `tally keys generate`)")
	}
	for _, p := range k.PreviousKeys() {
		if !isKey(p) {
			v.fail("TALLY_MASTER_KEY_PREVIOUS", "every key must be standard base64 of 32 bytes")
			break
		}
	}
}

// PreviousKeys splits TALLY_MASTER_KEY_PREVIOUS.
func (k *Keys) PreviousKeys() []string {
	var out []string
	for _, p := range strings.Split(k.MasterKeyPrevious, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isKey(s string) bool {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	return err == nil && len(b) == 32
}

func (k Keys) settings() []setting {
	return []setting{
		{"TALLY_MASTER_KEY", maskSecret(k.MasterKey)},
		{"TALLY_MASTER_KEY_FILE", k.MasterKeyFile},
		{"TALLY_MASTER_KEY_PREVIOUS", maskSecret(k.MasterKeyPrevious)},
		{"TALLY_MASTER_KEY_PREVIOUS_FILE", k.MasterKeyPreviousFile},
	}
}

// MasterKeyPath is the file the master key is read from when
// TALLY_MASTER_KEY is unset: TALLY_MASTER_KEY_FILE, or DataDir/master.key.
func (c *Config) MasterKeyPath() string {
	if c.Keys.MasterKeyFile != "" {
		return c.Keys.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}
