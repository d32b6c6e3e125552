package backup

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/eventstore"
)

// Format is the layout of a backup directory this package writes; Restore
// reads this one only.
const Format = 1

// File names inside a backup directory.
const (
	ManifestFile = "manifest.json"
	EventsFile   = "events.jsonl.gz"
	tablesDir    = "tables"
)

// Bookkeeping tables that are not data: goose's own version table (a
// restore migrates first) and the projectors' checkpoints (a restore
// rebuilds the read models from sequence 0).
var bookkeeping = []string{"goose_db_version", "projector_checkpoints"}

// Manifest describes a backup; it is written last.
type Manifest struct {
	Format    int       `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Version is the Tally that wrote the backup.
	Version string `json:"version"`
	// SchemaVersion is the database migration the tables are at.
	SchemaVersion int64   `json:"schema_version"`
	Stream        Stream  `json:"stream"`
	Tables        []Table `json:"tables"`
	// Blobs names where the uploaded files were (a bucket or a directory).
	Blobs string `json:"blobs,omitempty"`
	// Files are the uploaded files the events name, copied into the
	// backup; absent in a backup made without the blob store.
	Files *Files `json:"files,omitempty"`
	// MasterKey names the master key that wraps the data keys in the
	// secrets and user_keys tables. The key itself is never in a backup:
	// without it the restored keys do not open, so keep it apart from
	// the backups and as safe.
	MasterKey *KeyRef `json:"master_key,omitempty"`
}

// KeyRef says which key, and where it was, without the key.
type KeyRef struct {
	// Location is the file the key was read from, or the environment
	// variable that held it.
	Location string `json:"location"`
	// ID is the key's id (see seal.KeyID).
	ID string `json:"id"`
}

// Stream is the event stream's part of a backup.
type Stream struct {
	File string `json:"file"`
	// LastSequence is the last event in the backup (its count too: the
	// stream has no gaps).
	LastSequence uint64 `json:"last_sequence"`
	SHA256       string `json:"sha256"`
	// Consumers are where the durable subscribers (notifier, bridge,
	// webhooks, duplicates) were, read before the tables: what they did
	// up to there is in the tables or done outside, and a restored
	// stream does not hand them those events again.
	Consumers []eventstore.Position `json:"consumers,omitempty"`
}

// Table is one table's part of a backup, in PostgreSQL's COPY text format.
type Table struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Rows    int64    `json:"rows"`
	File    string   `json:"file"`
	SHA256  string   `json:"sha256"`
}

// Source is what a backup is made of.
type Source struct {
	Pool   *pgxpool.Pool
	Events *eventstore.Store
	// ReadModels are the tables the projectors write: left out, rebuilt
	// on restore.
	ReadModels []string
	Version    string
	Blobs      string
	// Files, when set, is the blob store whose files the events name:
	// each is copied into the backup.
	Files     blob.Store
	MasterKey *KeyRef
}

// Write makes a backup in dir, which must be empty or not exist yet.
func Write(ctx context.Context, dir string, src Source) (*Manifest, error) {
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, tablesDir), 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	m := &Manifest{Format: Format, CreatedAt: time.Now().UTC(), Version: src.Version, Blobs: src.Blobs, MasterKey: src.MasterKey}

	consumers, err := src.Events.Positions(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	// The tables' snapshot is taken at the transaction's first query,
	// before the stream's last sequence is read: a delivery or a key that
	// names an event finds it in the backup.
	tx, err := src.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("backup: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied").
		Scan(&m.SchemaVersion); err != nil {
		return nil, fmt.Errorf("backup: schema version: %w", err)
	}
	names, err := dataTables(ctx, tx.Conn(), src.ReadModels)
	if err != nil {
		return nil, err
	}
	var keys fileKeys
	last, sum, err := writeEvents(ctx, filepath.Join(dir, EventsFile), src.Events, &keys)
	if err != nil {
		return nil, err
	}
	m.Stream = Stream{File: EventsFile, LastSequence: last, SHA256: sum, Consumers: consumers}
	for _, name := range names {
		t, err := writeTable(ctx, tx.Conn(), dir, name)
		if err != nil {
			return nil, err
		}
		m.Tables = append(m.Tables, t)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	// Every file an event in the backup names was stored before its
	// event was appended, so it is there to copy (unless purged since).
	if src.Files != nil {
		if m.Files, err = writeFiles(ctx, dir, &keys, src.Files); err != nil {
			return nil, err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(dir, ManifestFile), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// dataTables lists the tables of the current schema that are neither read
// models nor bookkeeping, parents before the tables that refer to them.
func dataTables(ctx context.Context, conn *pgx.Conn, readModels []string) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("backup: list tables: %w", err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("backup: list tables: %w", err)
	}
	var names []string
	for _, t := range all {
		if !slices.Contains(readModels, t) && !slices.Contains(bookkeeping, t) {
			names = append(names, t)
		}
	}
	rows, err = conn.Query(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
		JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("backup: list foreign keys: %w", err)
	}
	parents := map[string][]string{}
	var child, parent string
	if _, err := pgx.ForEachRow(rows, []any{&child, &parent}, func() error {
		parents[child] = append(parents[child], parent)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("backup: list foreign keys: %w", err)
	}
	return parentsFirst(names, parents)
}

// parentsFirst orders tables so that each comes after the tables it
// refers to; names is sorted, and the order is otherwise kept.
func parentsFirst(names []string, parents map[string][]string) ([]string, error) {
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("backup: foreign keys of %s form a cycle", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, p := range parents[t] {
			if p != t && slices.Contains(names, p) {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		state[t] = 2
		out = append(out, t)
		return nil
	}
	for _, t := range names {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// columns are a table's columns that take values (generated ones are
// computed again).
func columns(ctx context.Context, conn *pgx.Conn, table string) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	return cols, nil
}

func columnList(cols []string) string {
	s := ""
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		s += pgx.Identifier{c}.Sanitize()
	}
	return s
}

func writeTable(ctx context.Context, conn *pgx.Conn, dir, name string) (Table, error) {
	cols, err := columns(ctx, conn, name)
	if err != nil {
		return Table{}, fmt.Errorf("backup: %w", err)
	}
	t := Table{Name: name, Columns: cols, File: filepath.ToSlash(filepath.Join(tablesDir, name+".copy.gz"))}
	sum, err := writeGzip(filepath.Join(dir, t.File), func(w io.Writer) error {
		tag, err := conn.PgConn().CopyTo(ctx, w, fmt.Sprintf("COPY %s (%s) TO STDOUT",
			pgx.Identifier{name}.Sanitize(), columnList(cols)))
		t.Rows = tag.RowsAffected()
		return err
	})
	if err != nil {
		return Table{}, fmt.Errorf("backup: table %s: %w", name, err)
	}
	t.SHA256 = sum
	return t, nil
}

// writeEvents writes the stream and tells keys of the files it names.
func writeEvents(ctx context.Context, path string, store *eventstore.Store, keys *fileKeys) (uint64, string, error) {
	var last uint64
	sum, err := writeGzip(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		var err error
		last, err = store.Export(ctx, func(a eventstore.Archived) error {
			if err := keys.see(a); err != nil {
				return err
			}
			return enc.Encode(a)
		})
		return err
	})
	if err != nil {
		return 0, "", fmt.Errorf("backup: events: %w", err)
	}
	return last, sum, nil
}

// writeGzip writes what fill writes, compressed, to a new file that is
// synced before it counts, and returns the file's SHA-256.
func writeGzip(path string, fill func(io.Writer) error) (string, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	buf := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<16)
	zw := gzip.NewWriter(buf)
	if err := fill(zw); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if err := buf.Flush(); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// emptyDir accepts a directory that does not exist or has nothing in it.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("backup: %s is not empty; a backup goes into a new directory", dir)
	}
	return nil
}

// verifiedReader opens a backup file and checks, once read to the end,
// that its SHA-256 is the manifest's.
type verifiedReader struct {
	f    *os.File
	h    hash.Hash
	zr   *gzip.Reader
	want string
	name string
}

func openVerified(dir, file, sum string) (*verifiedReader, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(file)))
	if err != nil {
		return nil, err
	}
	v := &verifiedReader{f: f, h: sha256.New(), want: sum, name: file}
	zr, err := gzip.NewReader(io.TeeReader(f, v.h))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	v.zr = zr
	return v, nil
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	n, err := v.zr.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%s: %w", v.name, err)
	}
	return n, err
}

// Verify reads what is left and compares the checksum.
func (v *verifiedReader) Verify() error {
	if _, err := io.Copy(io.Discard, v.zr); err != nil {
		return fmt.Errorf("%s: %w", v.name, err)
	}
	// The gzip reader stops at the end of the stream; the hash must cover
	// the whole file.
	if _, err := io.Copy(v.h, v.f); err != nil {
		return fmt.Errorf("%s: %w", v.name, err)
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		return fmt.Errorf("%s: checksum %s, the manifest says %s: the file changed since the backup", v.name, got, v.want)
	}
	return nil
}

func (v *verifiedReader) Close() error { return v.f.Close() }
