package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"tally/backup"
	"tally/config"
	"tally/migrations"
	"tally/projections"
	"tally/seal"
)

// readModelTables are the tables the projectors write: a backup leaves
// them out, a restore rebuilds them.
func readModelTables() []string {
	var tables []string
	for _, p := range projections.All() {
		tables = append(tables, p.Tables()...)
	}
	return tables
}

// blobLocation names where uploaded files are kept, for the manifest.
func (r *runtime) blobLocation() string {
	if r.cfg.S3Bucket != "" {
		return "s3://" + r.cfg.S3Bucket
	}
	return r.cfg.BlobDir()
}

// runBackup is `tally backup DIR`.
func runBackup(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: tally backup DIR (a new or empty directory)")
	}
	rt.useRunningServer("backup")
	key, err := configuredMasterKey(rt.cfg)
	if err != nil {
		return err
	}
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	if err := rt.openBlobs(ctx); err != nil {
		return err
	}
	started := time.Now()
	m, err := backup.Write(ctx, args[0], backup.Source{Pool: rt.pool, Events: rt.events,
		ReadModels: readModelTables(), Version: version, Blobs: rt.blobLocation(), Files: rt.blobs, MasterKey: key})
	if err != nil {
		return err
	}
	var rows int64
	for _, t := range m.Tables {
		rows += t.Rows
	}
	fmt.Fprintf(stdout, "backed up %d events, %d rows of %d tables and %d files (%.1f MiB) from %s to %s in %.1fs\n",
		m.Stream.LastSequence, rows, len(m.Tables), m.Files.Count, float64(m.Files.Bytes)/(1<<20), m.Blobs, args[0],
		time.Since(started).Seconds())
	if n := len(m.Files.Missing); n > 0 {
		fmt.Fprintf(stdout, "%d files the events name were not in %s (listed in the manifest): purged meanwhile, or lost before the backup\n",
			n, m.Blobs)
	}
	return nil
}

// runRestore is `tally restore DIR`: into an empty database and an empty
// stream (a new DATA_DIR, or a new NATS server), then the read models are
// rebuilt from the restored stream.
func runRestore(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: tally restore DIR (a directory `tally backup` wrote)")
	}
	manifest, err := backup.ReadManifest(args[0])
	if err != nil {
		return err
	}
	// Before the database is opened, which makes a new master key in an
	// empty DATA_DIR: the restored data keys open only with the old one.
	if err := checkMasterKey(rt.cfg, manifest.MasterKey); err != nil {
		return err
	}
	schema, err := migrations.Apply(ctx, rt.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	if err := rt.openBlobs(ctx); err != nil {
		return err
	}
	started := time.Now()
	m, err := backup.Restore(ctx, args[0], backup.Target{Pool: rt.pool, Events: rt.events, SchemaVersion: schema, Files: rt.blobs})
	if err != nil {
		return err
	}
	files := "no files (a backup made before they were included: copy them to " + rt.blobLocation() + ")"
	if m.Files != nil {
		files = fmt.Sprintf("%d files into %s", m.Files.Count, rt.blobLocation())
	}
	fmt.Fprintf(stdout, "restored %d events, %d tables and %s from %s\n", m.Stream.LastSequence, len(m.Tables), files, args[0])
	rb := &projections.Rebuild{Pool: rt.pool, Store: rt.events, Projectors: projections.All(), Log: rt.log,
		MaxFoldEvents: projections.MaxFoldEvents()}
	n, err := rb.Run(ctx)
	if err != nil {
		return fmt.Errorf("restored, but rebuilding the read models failed (run `tally replay --projection all`): %w", err)
	}
	fmt.Fprintf(stdout, "rebuilt the read models from %d events; %.1fs in all\n", n, time.Since(started).Seconds())
	return nil
}

// configuredMasterKey names this process's master key without making
// one; nil when there is none yet.
func configuredMasterKey(cfg *config.Config) (*backup.KeyRef, error) {
	var key []byte
	ref := &backup.KeyRef{Location: "TALLY_MASTER_KEY"}
	if cfg.Keys.MasterKey != "" {
		k, err := seal.ParseMasterKey(cfg.Keys.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("TALLY_MASTER_KEY: %w", err)
		}
		key = k
	} else {
		ref.Location = cfg.MasterKeyPath()
		k, err := seal.ReadMasterKeyFile(ref.Location)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("master key: %w", err)
		}
		key = k
	}
	ring, err := seal.NewRing(key)
	if err != nil {
		return nil, err
	}
	ref.ID = ring.CurrentID().String()
	return ref, nil
}

// checkMasterKey refuses a restore whose data keys this process's master
// keys cannot open.
func checkMasterKey(cfg *config.Config, want *backup.KeyRef) error {
	if want == nil || want.ID == "" {
		return nil
	}
	have, err := configuredMasterKey(cfg)
	if err != nil {
		return err
	}
	if have != nil && have.ID == want.ID {
		return nil
	}
	for _, p := range cfg.Keys.PreviousKeys() {
		if k, err := seal.ParseMasterKey(p); err == nil {
			if ring, err := seal.NewRing(k); err == nil && ring.CurrentID().String() == want.ID {
				return nil
			}
		}
	}
	where := cfg.MasterKeyPath()
	if have != nil {
		where = have.Location
	}
	return fmt.Errorf("restore: the backup's keys are wrapped by master key %s (it was at %s); %s has %s: "+
		"put that key at %s (mode 0600) or in TALLY_MASTER_KEY, or the old one in TALLY_MASTER_KEY_PREVIOUS",
		want.ID, want.Location, where, describeKey(have), cfg.MasterKeyPath())
}

func describeKey(k *backup.KeyRef) string {
	if k == nil {
		return "no key"
	}
	return "key " + k.ID
}
