package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"tally/commands"
	"tally/mail"
	"tally/metrics"
	"tally/notify"
	"tally/personal"
	"tally/readmodel"
	"tally/supervise"
)

// mailer is what the notifier and the reports need to send e-mail.
type mailer struct {
	sender    *mail.Sender
	templates *mail.Templates
	links     *notify.Links
}

// openMailer returns nil when SMTP_URL is unset: e-mail is off.
func (r *runtime) openMailer() (*mailer, error) {
	templates, err := mail.LoadTemplates(notify.DefaultTemplates(), r.cfg.NotifyTemplatesDir)
	if err != nil {
		return nil, err
	}
	m := &mailer{templates: templates, links: notify.NewLinks(r.cfg.PublicURL, readmodel.New(r.pool))}
	if r.cfg.SMTPURL == "" {
		return m, nil
	}
	sender, err := mail.NewSender(mail.Config{URL: r.cfg.SMTPURL, From: r.cfg.MailFrom})
	if err != nil {
		return nil, err
	}
	m.sender = sender
	return m, nil
}

func (r *runtime) reporter(m *mailer) *notify.Reporter {
	rep := &notify.Reporter{Commands: commands.New(r.events, r.blobs, r.log), Queries: readmodel.New(r.pool),
		Templates: m.templates, Links: m.links, Log: r.log.With("role", "report"), Retries: 3,
		RequireConfirmation: r.cfg.Guard.NotifyRequireConfirmation}
	if m.sender != nil {
		rep.Sender = m.sender
	}
	return rep
}

// startNotifier e-mails users about extraction results until ctx ends.
func startNotifier(ctx context.Context, wg *sync.WaitGroup, rt *runtime, m *mailer) {
	if m.sender == nil {
		rt.log.Warn("e-mail is off: set SMTP_URL to send notifications and monthly reports")
		return
	}
	n := &notify.Notifier{Events: rt.events, Commands: commands.New(rt.events, rt.blobs, rt.log),
		Queries: readmodel.New(rt.pool), Personal: personal.New(rt.pool), Sender: m.sender, Templates: m.templates,
		Links: m.links, Log: rt.log.With("role", "notifier"), Retries: 3, RequireConfirmation: rt.cfg.Guard.NotifyRequireConfirmation}
	wg.Go(func() {
		if err := n.Run(ctx); err != nil && ctx.Err() == nil {
			rt.log.Error("notifier stopped", "err", err)
		}
	})
}

// startScheduler runs the monthly report at 00:05 on the 1st in
// REPORT_TIME_ZONE.
func startScheduler(ctx context.Context, wg *sync.WaitGroup, rt *runtime, m *mailer) {
	if m.sender == nil {
		return
	}
	loc, _ := time.LoadLocation(rt.cfg.ReportTimeZone)
	rep := rt.reporter(m)
	wg.Go(func() { rep.RunMonthly(ctx, rt.locker(), loc) })
}

// locker runs periodic jobs under advisory locks, one replica at a time.
func (r *runtime) locker() supervise.Locker { return supervise.Locker{Pool: r.pool, Log: r.log} }

func runNotifier(ctx context.Context, rt *runtime) error {
	if err := rt.openStores(ctx); err != nil {
		return err
	}
	m, err := rt.openMailer()
	if err != nil {
		return err
	}
	if m.sender == nil {
		return errors.New("SMTP_URL is unset: the notifier has nothing to send with")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	startNotifier(ctx, &wg, rt, m)
	err = serveProbes(ctx, rt, metrics.New(), storeChecks(rt))
	cancel()
	wg.Wait()
	return err
}

func runScheduler(ctx context.Context, rt *runtime) error {
	if err := rt.openStores(ctx); err != nil {
		return err
	}
	m, err := rt.openMailer()
	if err != nil {
		return err
	}
	if m.sender == nil {
		rt.log.Warn("SMTP_URL is unset: no monthly reports; the scheduler only purges deleted documents")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if err := startMailboxScheduler(ctx, &wg, rt); err != nil {
		return err
	}
	startScheduler(ctx, &wg, rt, m)
	startPurger(ctx, &wg, rt)
	err = serveProbes(ctx, rt, metrics.New(), storeChecks(rt))
	cancel()
	wg.Wait()
	return err
}

// runReport is `tally report monthly [--month YYYY-MM] [--dry-run]`.
func runReport(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "monthly" {
		return errors.New("usage: tally report monthly [--month YYYY-MM] [--dry-run]")
	}
	fs := flag.NewFlagSet("report monthly", flag.ContinueOnError)
	loc, _ := time.LoadLocation(rt.cfg.ReportTimeZone)
	month := fs.String("month", notify.PreviousMonth(time.Now().In(loc)), "month to report, YYYY-MM (default last month)")
	dryRun := fs.Bool("dry-run", false, "print the reports; send and record nothing")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if _, err := time.Parse("2006-01", *month); err != nil {
		return fmt.Errorf("--month %q is not YYYY-MM", *month)
	}
	rt.useRunningServer("report")
	if err := rt.openStores(ctx); err != nil {
		return err
	}
	m, err := rt.openMailer()
	if err != nil {
		return err
	}
	if m.sender == nil && !*dryRun {
		return errors.New("SMTP_URL is unset: set it, or use --dry-run to see the reports")
	}
	res, err := rt.reporter(m).RunLocked(ctx, rt.locker(), *month, *dryRun)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if encErr := enc.Encode(res); encErr != nil {
		return encErr
	}
	return err
}
