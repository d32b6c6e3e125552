package backup

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/eventstore"
)

// Target is where a backup is restored: a migrated database whose data
// tables are empty, and an empty stream.
type Target struct {
	Pool   *pgxpool.Pool
	Events *eventstore.Store
	// SchemaVersion is the migration the database is at; a backup of a
	// newer schema is refused.
	SchemaVersion int64
	// Files, when set, is the blob store the backup's uploaded files are
	// put into.
	Files blob.Store
}

// ReadManifest reads and checks a backup directory's manifest.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("restore: %s has no %s: not a backup, or one that did not finish", dir, ManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("restore: %s: %w", ManifestFile, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("restore: backup format %d; this Tally reads format %d", m.Format, Format)
	}
	return &m, nil
}

// Restore loads the tables in one transaction, then the stream. The read
// models are left to a rebuild from the restored stream.
func Restore(ctx context.Context, dir string, dst Target) (*Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if m.SchemaVersion > dst.SchemaVersion {
		return nil, fmt.Errorf("restore: the backup's schema is at migration %d, this Tally's at %d: restore with the Tally that made it (%s) or a newer one",
			m.SchemaVersion, dst.SchemaVersion, m.Version)
	}
	tx, err := dst.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("restore: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var busy []string
	for _, t := range m.Tables {
		var n int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t.Name}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("restore: table %s: %w", t.Name, err)
		}
		if n > 0 {
			busy = append(busy, fmt.Sprintf("%s (%d rows)", t.Name, n))
		}
	}
	if len(busy) > 0 {
		return nil, fmt.Errorf("restore: the database is not empty: %s; restore into a new database", strings.Join(busy, ", "))
	}
	last, err := dst.Events.LastSequence(ctx)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if last != 0 {
		return nil, fmt.Errorf("restore: %w (%d events); restore into a new data directory or NATS stream", eventstore.ErrNotEmpty, last)
	}
	// The files first: a document restored without its file would fail
	// extraction and download. Putting one twice stores the same bytes.
	if m.Files != nil && dst.Files != nil {
		if err := restoreFiles(ctx, dir, m.Files, dst.Files); err != nil {
			return nil, err
		}
	}
	for _, t := range m.Tables {
		if err := restoreTable(ctx, tx.Conn(), dir, t); err != nil {
			return nil, err
		}
	}
	// The stream goes in before the tables are committed: a stream that
	// fails to restore leaves the database as empty as it was.
	if err := restoreEvents(ctx, dir, m.Stream, dst.Events); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("restore: commit: %w", err)
	}
	return m, nil
}

func restoreTable(ctx context.Context, conn *pgx.Conn, dir string, t Table) error {
	r, err := openVerified(dir, t.File, t.SHA256)
	if err != nil {
		return fmt.Errorf("restore: table %s: %w", t.Name, err)
	}
	defer r.Close()
	tag, err := conn.PgConn().CopyFrom(ctx, r, fmt.Sprintf("COPY %s (%s) FROM STDIN",
		pgx.Identifier{t.Name}.Sanitize(), columnList(t.Columns)))
	if err != nil {
		return fmt.Errorf("restore: table %s: %w", t.Name, err)
	}
	if err := r.Verify(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if tag.RowsAffected() != t.Rows {
		return fmt.Errorf("restore: table %s: %d rows, the manifest says %d", t.Name, tag.RowsAffected(), t.Rows)
	}
	// Identity and serial columns go on after the restored rows.
	for _, c := range t.Columns {
		var seq *string
		if err := conn.QueryRow(ctx, "SELECT pg_get_serial_sequence($1, $2)", pgx.Identifier{t.Name}.Sanitize(), c).
			Scan(&seq); err != nil {
			return fmt.Errorf("restore: table %s: sequence of %s: %w", t.Name, c, err)
		}
		if seq == nil {
			continue
		}
		q := fmt.Sprintf("SELECT setval($1, coalesce((SELECT max(%s) FROM %s), 0) + 1, false)",
			pgx.Identifier{c}.Sanitize(), pgx.Identifier{t.Name}.Sanitize())
		if _, err := conn.Exec(ctx, q, *seq); err != nil {
			return fmt.Errorf("restore: table %s: sequence of %s: %w", t.Name, c, err)
		}
	}
	return nil
}

func restoreEvents(ctx context.Context, dir string, s Stream, store *eventstore.Store) error {
	r, err := openVerified(dir, s.File, s.SHA256)
	if err != nil {
		return fmt.Errorf("restore: events: %w", err)
	}
	defer r.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	n, err := store.Import(ctx, func() (eventstore.Archived, bool, error) {
		var a eventstore.Archived
		if err := dec.Decode(&a); err != nil {
			if errors.Is(err, io.EOF) {
				return a, false, nil
			}
			return a, false, fmt.Errorf("restore: events: %w", err)
		}
		return a, true, nil
	})
	if err != nil {
		return err
	}
	if err := r.Verify(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if n != s.LastSequence {
		return fmt.Errorf("restore: events: %d restored, the manifest says %d", n, s.LastSequence)
	}
	if err := store.RestorePositions(ctx, s.Consumers); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}
