// Package migrations applies Tally's PostgreSQL schema (the read models and
// API keys) with goose. The SQL files under sql/ are also sqlc's schema.
//
// Invariants: applying is idempotent and safe to run from several processes
// at once (a PostgreSQL advisory lock serialises them).
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for goose
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sql/*.sql
var files embed.FS

// Apply brings the database at dsn to the newest schema and returns the
// version it is at. A database that does not exist yet is created first,
// so a fresh machine needs no manual step.
func Apply(ctx context.Context, dsn string) (int64, error) {
	if err := ensureDatabase(ctx, dsn); err != nil {
		return 0, err
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return 0, fmt.Errorf("migrate: open database: %w", err)
	}
	defer db.Close()
	sub, err := fs.Sub(files, "sql")
	if err != nil {
		return 0, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	version, err := provider.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	return version, nil
}

// ensureDatabase creates the database named in dsn when the server says it
// does not exist (SQLSTATE 3D000), connecting to "postgres" to do it.
func ensureDatabase(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	name := cfg.Database
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("migrate: database %q does not exist; create it or give DATABASE_URL as a URL", name)
	}
	u.Path = "/postgres"
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("migrate: database %q does not exist and connecting to postgres to create it failed: %w", name, err)
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") {
		return fmt.Errorf("migrate: create database %q: %w", name, err)
	}
	return nil
}
