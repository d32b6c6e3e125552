package main

// The update-cron role and the templates tool: merchant/issuer template
// bundles published to S3 or a directory, checked, stored and activated.
// Settings: config.UpdateCron (DB_UPDATE_*), which the flags --bucket,
// --prefix, --dir and --every override.

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

// parseUpdateCron reads DB_UPDATE_* through config, then the flags over
// them, and reports every problem at once.
func parseUpdateCron(args []string, getenv func(string) string) (config.UpdateCron, error) {
	s, envErr := config.LoadUpdateCron(getenv)
	errs := []error{envErr}
	fs := flag.NewFlagSet("update-cron", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.Bucket, "bucket", s.Bucket, "S3 bucket holding template bundles")
	fs.StringVar(&s.Prefix, "prefix", s.Prefix, "key prefix within the bucket")
	fs.StringVar(&s.Dir, "dir", s.Dir, "local directory holding template bundles")
	fs.DurationVar(&s.Every, "every", s.Every, "keep running and check this often (0: once)")
	if err := fs.Parse(args); err != nil {
		return s, fmt.Errorf("%w\n%s", err, updateCronUsage)
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q\n%s", fs.Args(), updateCronUsage))
	}
	errs = append(errs, s.Validate())
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
	var src templates.Source = templates.DirSource{Dir: s.Dir}
	if s.Bucket != "" {
		src, err = templates.NewS3Source(ctx, blob.S3Config{
			Bucket: s.Bucket, Region: cfg.AWSRegion, Endpoint: cfg.S3Endpoint,
			AccessKeyID: cfg.AWSAccessKeyID, SecretAccessKey: cfg.AWSSecretAccessKey,
		}, s.Prefix)
		if err != nil {
			return err
		}
	}
	verifier, err := templateVerifier(s)
	if err != nil {
		return err
	}
	u := &templates.Updater{Store: templates.NewStore(rt.pool, rt.events), Source: src, Log: rt.log.With("role", "update-cron"),
		Signatures: verifier}
	if s.Every == 0 {
		_, err := u.RunOnce(ctx)
		return err
	}
	rt.log.Info("update cron running", "source", src.String(), "every", s.Every.String())
	supervise.Every(ctx, s.Every, func(ctx context.Context) error {
		_, err := u.RunOnce(ctx)
		return err
	}, func(err error) { rt.log.Error("template update failed", "source", src.String(), "err", err) })
	return nil
}

const templatesUsage = `usage:
  tally templates check FILE...        check bundle files (no database needed)
  tally templates keygen --out FILE    a new signing key: private half to FILE, public half printed
  tally templates sign --key FILE BUNDLE...
                                       write BUNDLE.sig beside each bundle
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
	if sub == "keygen" {
		return runTemplatesKeygen(args, stdout)
	}
	if sub == "sign" {
		return runTemplatesSign(args, stdout)
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
		fmt.Fprintf(stdout, "%s: ok, version %s, %d templates, sha256 %s; %s\n", name, set.Version(), set.Templates(), templates.Checksum(raw),
			signatureNote(name, raw, os.Getenv))
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
