package main

// The update-cron role and the templates tool: merchant/issuer template
// bundles published to S3 or a directory, checked, stored and activated.
//
// Environment (read here until they move into package config):
//
//	DB_UPDATE_S3_BUCKET  bucket holding bundles (*.json); AWS_REGION, S3_ENDPOINT,
//	                     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY as for blobs
//	DB_UPDATE_S3_PREFIX  optional key prefix ("bundles/") within that bucket
//	DB_UPDATE_DIR        or: a local directory holding bundles (*.json)
//	DB_UPDATE_INTERVAL   Go duration (e.g. 24h): keep running and check this
//	                     often; unset runs once and exits (the default)
//
// Exactly one of DB_UPDATE_S3_BUCKET and DB_UPDATE_DIR must be set; the
// flags --bucket, --prefix, --dir and --every override them.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	"tally/blob"
	"tally/config"
	"tally/supervise"
	"tally/templates"
)

const updateCronUsage = `usage: tally update-cron [--every DURATION] [--bucket NAME [--prefix P] | --dir DIR]`

// updateCronSettings are the update cron's settings: flags over DB_UPDATE_*.
type updateCronSettings struct {
	bucket, prefix, dir string
	every               time.Duration
}

func parseUpdateCron(args []string, getenv func(string) string) (updateCronSettings, error) {
	var s updateCronSettings
	var errs []error
	if v := getenv("DB_UPDATE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("DB_UPDATE_INTERVAL: %q is not a duration such as 24h", v))
		} else {
			s.every = d
		}
	}
	fs := flag.NewFlagSet("update-cron", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.bucket, "bucket", getenv("DB_UPDATE_S3_BUCKET"), "S3 bucket holding template bundles")
	fs.StringVar(&s.prefix, "prefix", getenv("DB_UPDATE_S3_PREFIX"), "key prefix within the bucket")
	fs.StringVar(&s.dir, "dir", getenv("DB_UPDATE_DIR"), "local directory holding template bundles")
	fs.DurationVar(&s.every, "every", s.every, "keep running and check this often (0: once)")
	if err := fs.Parse(args); err != nil {
		return s, fmt.Errorf("%w\n%s", err, updateCronUsage)
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q\n%s", fs.Args(), updateCronUsage))
	}
	switch {
	case s.bucket == "" && s.dir == "":
		errs = append(errs, errors.New("DB_UPDATE_S3_BUCKET or DB_UPDATE_DIR (or --bucket / --dir) must name where template bundles are published"))
	case s.bucket != "" && s.dir != "":
		errs = append(errs, errors.New("DB_UPDATE_S3_BUCKET and DB_UPDATE_DIR are both set; set one"))
	}
	if s.every < 0 {
		errs = append(errs, errors.New("--every must not be negative"))
	}
	return s, errors.Join(errs...)
}

// runUpdateCron installs the newest published template bundle once, or
// every --every until ctx ends. Once, a refused bundle is an error (exit
// status 1); repeating, it is logged and the next run tries again.
func runUpdateCron(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	s, err := parseUpdateCron(args, os.Getenv)
	if err != nil {
		return err
	}
	rt := start(log, cfg, "update-cron")
	defer rt.Close()
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	var src templates.Source = templates.DirSource{Dir: s.dir}
	if s.bucket != "" {
		src, err = templates.NewS3Source(ctx, blob.S3Config{
			Bucket: s.bucket, Region: cfg.AWSRegion, Endpoint: cfg.S3Endpoint,
			AccessKeyID: cfg.AWSAccessKeyID, SecretAccessKey: cfg.AWSSecretAccessKey,
		}, s.prefix)
		if err != nil {
			return err
		}
	}
	u := &templates.Updater{Store: templates.NewStore(rt.pool, rt.events), Source: src, Log: rt.log.With("role", "update-cron")}
	if s.every == 0 {
		_, err := u.RunOnce(ctx)
		return err
	}
	rt.log.Info("update cron running", "source", src.String(), "every", s.every.String())
	supervise.Every(ctx, s.every, func(ctx context.Context) error {
		_, err := u.RunOnce(ctx)
		return err
	}, func(err error) { rt.log.Error("template update failed", "source", src.String(), "err", err) })
	return nil
}

const templatesUsage = `usage:
  tally templates check FILE...        check bundle files (no database needed)
  tally templates list                 the stored bundles; * marks the active one
  tally templates rollback [--to VERSION]
                                       activate the previous (or the given) stored bundle`

// runTemplates is the templates tool. It logs to stderr and answers on
// stdout.
func runTemplates(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.Level()})).With("service", "tally")
	if len(args) == 0 {
		return errors.New(templatesUsage)
	}
	sub, args := args[0], args[1:]
	if sub == "check" {
		return checkTemplateFiles(args, stdout)
	}
	if sub != "list" && sub != "rollback" {
		return fmt.Errorf("unknown templates command %q\n%s", sub, templatesUsage)
	}
	fs := flag.NewFlagSet("templates "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.String("to", "", "version to activate (default: the one active before the current one)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || (sub == "list" && *to != "") {
		return errors.New(templatesUsage)
	}
	rt := &runtime{cfg: cfg, log: log}
	defer rt.Close()
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	if sub == "list" {
		// Listing needs no event store.
		return listTemplates(ctx, templates.NewStore(rt.pool, nil), stdout)
	}
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	act, err := templates.NewStore(rt.pool, rt.events).Rollback(ctx, *to)
	if err != nil {
		return err
	}
	log.Info("template bundle activated", "version", act.Version, "previous", act.PreviousVersion,
		"reason", act.Reason, "sequence", act.Sequence)
	fmt.Fprintf(stdout, "active: %s (was %s, %d templates)\n", act.Version, orNone(act.PreviousVersion), act.Templates)
	return nil
}

func checkTemplateFiles(files []string, stdout io.Writer) error {
	if len(files) == 0 {
		return errors.New(templatesUsage)
	}
	var errs []error
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		set, err := templates.Load(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:\n%w", name, err))
			continue
		}
		fmt.Fprintf(stdout, "%s: ok, version %s, %d templates, sha256 %s\n", name, set.Version(), set.Templates(), templates.Checksum(raw))
	}
	return errors.Join(errs...)
}

func listTemplates(ctx context.Context, store *templates.Store, stdout io.Writer) error {
	rows, err := store.List(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\tVERSION\tTEMPLATES\tSTORED\tLAST ACTIVATED\tSHA256\tSOURCE")
	for _, r := range rows {
		mark, activated := "", "-"
		if r.Active {
			mark = "*"
		}
		if r.ActivatedAt.Valid {
			activated = r.ActivatedAt.Time.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%.12s\t%s\n", mark, r.Version, r.Templates,
			r.CreatedAt.Time.UTC().Format(time.RFC3339), activated, r.Checksum, r.Source)
	}
	return w.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// startTemplates follows the active template bundle until ctx ends, for a
// worker's engine: extract.New(...).WithTemplates(startTemplates(ctx, wg, rt)).
// It needs rt.pool. Until the bundle loads (a database hiccup at start),
// documents are extracted without templates.
func startTemplates(ctx context.Context, wg *sync.WaitGroup, rt *runtime) *templates.Live {
	live := templates.NewLive(rt.pool, rt.log.With("component", "templates"))
	if err := live.Refresh(ctx); err != nil {
		rt.log.Warn("template bundle not loaded yet; extracting without templates until it is", "err", err)
	}
	wg.Go(func() { live.Run(ctx, templates.DefaultRefresh) })
	return live
}
