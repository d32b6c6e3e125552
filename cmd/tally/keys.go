package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"tally/config"
	"tally/migrations"
	"tally/readmodel"
	"tally/seal"
)

// masterRing reads the master key (TALLY_MASTER_KEY, the file
// TALLY_MASTER_KEY_FILE, or DATA_DIR/master.key made on the first start)
// and the previous ones a rotation still reads.
func masterRing(cfg *config.Config) (ring *seal.Ring, made string, err error) {
	var current []byte
	switch {
	case cfg.Keys.MasterKey != "":
		current, err = seal.ParseMasterKey(cfg.Keys.MasterKey)
		if err != nil {
			return nil, "", fmt.Errorf("TALLY_MASTER_KEY: %w", err)
		}
	case cfg.Keys.MasterKeyFile != "":
		current, err = seal.ReadMasterKeyFile(cfg.Keys.MasterKeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("TALLY_MASTER_KEY_FILE: %w", err)
		}
	default:
		path := cfg.MasterKeyPath()
		var fresh bool
		current, fresh, err = seal.EnsureMasterKeyFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("master key %s: %w", path, err)
		}
		if fresh {
			made = path
		}
	}
	var previous [][]byte
	for _, p := range cfg.Keys.PreviousKeys() {
		k, err := seal.ParseMasterKey(p)
		if err != nil {
			return nil, "", fmt.Errorf("TALLY_MASTER_KEY_PREVIOUS: %w", err)
		}
		previous = append(previous, k)
	}
	if f := cfg.Keys.MasterKeyPreviousFile; f != "" {
		ks, err := readKeyRingFile(f)
		if err != nil {
			return nil, "", fmt.Errorf("TALLY_MASTER_KEY_PREVIOUS_FILE: %w", err)
		}
		previous = append(previous, ks...)
	}
	ring, err = seal.NewRing(current, previous...)
	return ring, made, err
}

// readKeyRingFile reads base64 master keys, one a line; blank lines and
// lines starting with # are skipped.
func readKeyRingFile(path string) ([][]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !seal.PrivateMode(info.Mode()) {
		return nil, fmt.Errorf("%s has mode %04o: a key ring file must not be readable by other users (chmod 600)", path, info.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys [][]byte
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := seal.ParseMasterKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		keys = append(keys, k)
	}
	return keys, sc.Err()
}

// installMasterKey loads the master key into the process and wraps the
// data keys stored before there was one. It runs before anything reads a
// key from the database.
func (r *runtime) installMasterKey(ctx context.Context) error {
	ring, made, err := masterRing(r.cfg)
	if err != nil {
		return err
	}
	seal.Install(ring)
	if made != "" {
		r.log.Warn("made a new master key; back it up with the database: without it nothing sealed opens",
			"path", made, "key_id", ring.CurrentID().String())
	}
	done, err := seal.WrapStored(ctx, readmodel.New(r.pool))
	if err != nil {
		// The database may not be up yet; keys stay readable as they are
		// and the next start (or `tally keys rotate`) wraps them.
		r.log.Warn("could not wrap stored data keys under the master key", "err", err)
		return nil
	}
	if done.Secrets+done.UserKeys > 0 {
		r.log.Info("wrapped stored data keys under the master key", "secrets", done.Secrets,
			"user_keys", done.UserKeys, "key_id", done.Current.String())
	}
	return nil
}

// runKeys is `tally keys`.
func runKeys(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: tally keys generate | rotate")
	}
	switch args[0] {
	case "generate":
		key, err := seal.NewKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, seal.EncodeMasterKey(key))
		return nil
	case "rotate":
		if _, err := migrations.Apply(ctx, rt.cfg.DatabaseURL); err != nil {
			return err
		}
		if err := rt.openDatabase(ctx); err != nil {
			return err
		}
		done, err := seal.Rewrap(ctx, readmodel.New(rt.pool))
		if err != nil {
			return fmt.Errorf("rotate: %w (is the old master key in TALLY_MASTER_KEY_PREVIOUS?)", err)
		}
		fmt.Fprintf(stdout, "re-wrapped %d secrets and %d user keys under master key %s\n",
			done.Secrets, done.UserKeys, done.Current)
		return nil
	}
	return fmt.Errorf("tally keys: unknown command %q (generate, rotate)", args[0])
}
