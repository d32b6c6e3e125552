package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"tally/backup"
	"tally/migrations"
	"tally/projections"
)

// readModelTables are the tables the projectors write: a backup leaves
// them out, a restore rebuilds them.
func readModelTables() []string {
	var tables []string
	for _, p := range append(projections.All(), projections.Search{}) {
		tables = append(tables, p.Tables()...)
	}
	return tables
}

// blobLocation names where uploaded files are kept, for the manifest:
// they are not part of a backup.
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
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	started := time.Now()
	m, err := backup.Write(ctx, args[0], backup.Source{Pool: rt.pool, Events: rt.events,
		ReadModels: readModelTables(), Version: version, Blobs: rt.blobLocation()})
	if err != nil {
		return err
	}
	var rows int64
	for _, t := range m.Tables {
		rows += t.Rows
	}
	fmt.Fprintf(stdout, "backed up %d events and %d rows of %d tables to %s in %.1fs; uploaded files stay in %s\n",
		m.Stream.LastSequence, rows, len(m.Tables), args[0], time.Since(started).Seconds(), m.Blobs)
	return nil
}

// runRestore is `tally restore DIR`: into an empty database and an empty
// stream (a new DATA_DIR, or a new NATS server), then the read models are
// rebuilt from the restored stream.
func runRestore(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: tally restore DIR (a directory `tally backup` wrote)")
	}
	if _, err := backup.ReadManifest(args[0]); err != nil {
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
	started := time.Now()
	m, err := backup.Restore(ctx, args[0], backup.Target{Pool: rt.pool, Events: rt.events, SchemaVersion: schema})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %d events and %d tables from %s\n", m.Stream.LastSequence, len(m.Tables), args[0])
	rb := &projections.Rebuild{Pool: rt.pool, Store: rt.events, Projectors: projections.All(), Log: rt.log}
	n, err := rb.Run(ctx)
	if err != nil {
		return fmt.Errorf("restored, but rebuilding the read models failed (run `tally replay --projection all`): %w", err)
	}
	fmt.Fprintf(stdout, "rebuilt the read models from %d events; %.1fs in all. Uploaded files are expected in %s\n",
		n, time.Since(started).Seconds(), m.Blobs)
	return nil
}
