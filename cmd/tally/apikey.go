package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"tally/apikeys"
	"tally/config"
	"tally/domain"
	"tally/migrations"
)

const apikeyUsage = "usage: tally apikey create [--tenant NAME] [--expires 90d] | list [--tenant NAME] | revoke ID | rotate ID [--expires 90d] [--grace 24h]"

// runAPIKey is `tally apikey`: keys are made, listed, revoked and rotated
// here, never through the API they open.
func runAPIKey(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(apikeyUsage)
	}
	fs := flag.NewFlagSet("apikey "+args[0], flag.ContinueOnError)
	tenant := fs.String("tenant", "", "tenant the keys belong to")
	expires := fs.String("expires", "", "the new key stops working after this long (90d, 720h); unset: never")
	grace := fs.String("grace", "", "rotate: the old key keeps working this long (24h); unset: it stops at once")
	var rest []string
	switch args[0] {
	case "create", "list":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		rest = fs.Args()
	case "revoke", "rotate":
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			return fmt.Errorf("tally apikey %s: the key's id is required (see tally apikey list)\n%s", args[0], apikeyUsage)
		}
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
		rest = append([]string{args[1]}, fs.Args()...)
	default:
		return fmt.Errorf("tally apikey: unknown command %q\n%s", args[0], apikeyUsage)
	}
	var until time.Time
	if *expires != "" {
		d, err := parseDays(*expires)
		if err != nil {
			return fmt.Errorf("--expires: %w", err)
		}
		until = time.Now().Add(d)
	}
	var graceFor time.Duration
	if *grace != "" {
		d, err := parseDays(*grace)
		if err != nil {
			return fmt.Errorf("--grace: %w", err)
		}
		graceFor = d
	}
	if args[0] == "create" && *tenant == "" {
		*tenant = cfg.DefaultTenant
	}
	if *tenant != "" && !domain.ValidTenant(*tenant) {
		return fmt.Errorf("tenant %q must be 1-63 lower-case letters, digits, '-' or '_'", *tenant)
	}
	if _, err := migrations.Apply(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	rt := &runtime{cfg: cfg, log: log}
	defer rt.Close()
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	keys := apikeys.New(rt.pool)
	switch args[0] {
	case "create":
		key, _, err := keys.CreateExpiring(ctx, *tenant, until)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		return nil
	case "list":
		list, err := keys.List(ctx, *tenant)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		for _, k := range list {
			if err := enc.Encode(k); err != nil {
				return err
			}
		}
		return nil
	}
	id, err := uuid.Parse(rest[0])
	if err != nil {
		return fmt.Errorf("%q is not a key id (see tally apikey list)", rest[0])
	}
	if args[0] == "revoke" {
		if err := keys.Revoke(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", id)
		return nil
	}
	key, _, err := keys.Rotate(ctx, id, until, graceFor)
	if key != "" {
		fmt.Fprintln(stdout, key)
	}
	return err
}

// parseDays reads a Go duration, or a whole number of days ("90d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 36500 {
			return 0, fmt.Errorf("%q is not a number of days such as 90d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration such as 90d or 720h", s)
	}
	return d, nil
}

// openTerminal opens the controlling terminal, where the first API key is
// shown: standard output of a role carries the structured logs, which are
// collected and kept, and a key must not be among them.
var openTerminal = func() (io.WriteCloser, error) { return os.OpenFile("/dev/tty", os.O_WRONLY, 0) }

// ensureDefaultKey writes DATA_DIR/api-key (mode 0600) once, so a new
// user has a key to try the API with; the key itself is stored hashed in
// the database, shown on the terminal when there is one, and never logged.
func ensureDefaultKey(ctx context.Context, rt *runtime) error {
	path := filepath.Join(rt.cfg.DataDir, "api-key")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	key, err := apikeys.New(rt.pool).Create(ctx, rt.cfg.DefaultTenant)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(rt.cfg.DataDir, 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	rt.log.Info("made an API key for the default tenant", "tenant", rt.cfg.DefaultTenant, "path", path)
	if tty, err := openTerminal(); err == nil {
		fmt.Fprintf(tty, "API key for tenant %q (also in %s): %s\n", rt.cfg.DefaultTenant, path, key)
		tty.Close()
	}
	return nil
}
