// Package scratchdb makes the throwaway databases the benchmark commands
// load and measure, on the server the caller names.
package scratchdb

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// timeout bounds each statement against the server.
const timeout = 30 * time.Second

// Create makes an empty database on the server and returns its
// URL and a function that drops it.
func Create(ctx context.Context, base *url.URL, name string) (string, func(), error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	admin, err := pgx.Connect(cctx, base.String())
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", base.Redacted(), err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(cctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u := *base
	u.Path = "/" + name
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c, err := pgx.Connect(dctx, base.String())
		if err != nil {
			fmt.Fprintf(os.Stderr, "drop database %s: %v\n", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(dctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			fmt.Fprintf(os.Stderr, "drop database %s: %v\n", name, err)
		}
	}
	return u.String(), drop, nil
}
