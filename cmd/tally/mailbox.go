package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"tally/domain"
	"tally/ereceipts"
	"tally/mail"
	"tally/mailbox"
	"tally/queue"
)

// mailboxFilters says which messages of linked mailboxes are receipts: the
// retailers and cutoffs of the tenant's e-receipt settings. A tenant without
// settings takes every message within the default lookback.
func (r *runtime) mailboxFilters() mailbox.FilterSource {
	settings := ereceipts.NewStore(r.pool)
	return mailbox.FilterFunc(func(ctx context.Context, tenant string) (mailbox.Filter, error) {
		w, err := settings.Window(ctx, tenant, time.Now())
		if errors.Is(err, ereceipts.ErrNotConfigured) {
			return mailbox.Filter{}, nil
		}
		if err != nil {
			return mailbox.Filter{}, err
		}
		f := mailbox.Filter{Since: w.Since}
		for _, rw := range w.Retailers {
			f.Retailers = append(f.Retailers, mailbox.Retailer{Email: rw.Email, Since: rw.Since})
		}
		return f, nil
	})
}

// mailboxJob makes the messages of a tenant with e-receipt settings
// e-receipt jobs, so their results reach its results endpoint like
// create_job's; without settings they are plain e-mail documents.
func (r *runtime) mailboxJob() func(ctx context.Context, tenant string) (*domain.EReceiptJob, error) {
	settings := ereceipts.NewStore(r.pool)
	return func(ctx context.Context, tenant string) (*domain.EReceiptJob, error) {
		cfg, err := settings.Get(ctx, tenant)
		if errors.Is(err, ereceipts.ErrNotConfigured) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &domain.EReceiptJob{Provider: "imap", Aggregate: cfg.UseAggregation}, nil
	}
}

// mailboxTopology is the scrape-job queue beside SCRAPE_QUEUE. A job older
// than one interval is superseded by the next one, hence its TTL.
func (r *runtime) mailboxTopology() queue.Topology {
	return mailbox.Topology(r.cfg.ScrapeQueue, r.cfg.MailboxScrapeInterval, r.cfg.RabbitMQDeliveryLimit)
}

func (r *runtime) mailboxService(ctx context.Context) (*mailbox.Service, error) {
	// These limits bound the login check of POST /v1/mailboxes, which a
	// client waits for.
	links, err := mailbox.NewLinks(ctx, r.pool, mailbox.Limits{DialTimeout: 10 * time.Second, CommandTimeout: 20 * time.Second,
		AllowPrivateNetworks: r.cfg.OutboundAllowPrivateNetworks})
	if err != nil {
		return nil, err
	}
	if r.cfg.ForwardIMAPURL != "" {
		acct, err := mailbox.ParseForwardURL(r.cfg.ForwardIMAPURL)
		if err != nil {
			return nil, err
		}
		links.Forwarding = mailbox.Forwarding{Inbox: acct.Address, PublicURL: r.cfg.PublicURL}
		if r.cfg.SMTPURL != "" {
			sender, err := mail.NewSender(mail.Config{URL: r.cfg.SMTPURL, From: r.cfg.MailFrom})
			if err != nil {
				return nil, err
			}
			links.Forwarding.Mail = sender
		}
	}
	return &mailbox.Service{Links: links, Publisher: &mailbox.Publisher{URL: r.cfg.RabbitMQURL, Topology: r.mailboxTopology()}}, nil
}

// startMailboxScheduler queues a scrape of every linked mailbox (and of
// the forwarding mailbox) every MAILBOX_SCRAPE_INTERVAL until ctx ends.
// Replicas may all run it: an advisory lock lets one tick at a time, and a
// link with a pending job gets no second one.
func startMailboxScheduler(ctx context.Context, wg *sync.WaitGroup, rt *runtime) error {
	svc, err := rt.mailboxService(ctx)
	if err != nil {
		return err
	}
	sched := &mailbox.Scheduler{Links: svc.Links, Publisher: svc.Publisher, Forward: rt.cfg.ForwardIMAPURL != "",
		Interval: rt.cfg.MailboxScrapeInterval, Log: rt.log.With("role", "mailbox-scheduler")}
	wg.Go(func() {
		rt.locker().Every(ctx, "mailbox-scheduler", rt.cfg.MailboxScrapeInterval, func(ctx context.Context) error {
			n, err := sched.Tick(ctx)
			if n > 0 {
				rt.log.Info("mailbox scrapes queued", "jobs", n)
			}
			return err
		}, func(err error) {
			rt.log.Warn("queueing mailbox scrapes failed; trying again next interval", "err", err)
		})
	})
	return nil
}

// startMailboxConsumer runs scrape jobs until ctx ends.
func startMailboxConsumer(ctx context.Context, wg *sync.WaitGroup, rt *runtime) (*queue.Session, error) {
	links, err := mailbox.NewLinks(ctx, rt.pool, mailbox.Limits{AllowPrivateNetworks: rt.cfg.OutboundAllowPrivateNetworks})
	if err != nil {
		return nil, err
	}
	scraper := &mailbox.Scraper{Links: links, Filters: rt.mailboxFilters(),
		Submit: mailbox.Commands{Handler: rt.commands(), Job: rt.mailboxJob()},
		Limits: mailbox.Limits{MaxMessageSize: rt.cfg.MaxFileSize()}, Log: rt.log.With("role", "mailbox")}
	if rt.cfg.ForwardIMAPURL != "" {
		acct, err := mailbox.ParseForwardURL(rt.cfg.ForwardIMAPURL)
		if err != nil {
			return nil, err
		}
		scraper.Forward = &acct
	}
	const concurrency = 2
	consumer := &mailbox.Consumer{Scraper: scraper, Concurrency: concurrency, Log: rt.log.With("role", "mailbox")}
	topo := rt.mailboxTopology()
	s := &queue.Session{URL: rt.cfg.RabbitMQURL, Topology: topo, Log: rt.log, Prefetch: concurrency}
	wg.Go(func() {
		s.Run(ctx, func(ctx context.Context, ch *amqp.Channel) error { return consumer.Consume(ctx, ch, topo) })
	})
	return s, nil
}

// runForwarding is `tally forwarding dkim [--tenant T] on|off`: the
// operator's switch for a tenant whose senders' mail is not DKIM-signed.
func runForwarding(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	const use = "usage: tally forwarding dkim [--tenant NAME] on|off"
	if len(args) == 0 || args[0] != "dkim" {
		return errors.New(use)
	}
	fs := flag.NewFlagSet("forwarding dkim", flag.ContinueOnError)
	tenant := fs.String("tenant", rt.cfg.DefaultTenant, "tenant whose forwards are checked")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "on" && fs.Arg(0) != "off" {
		return errors.New(use)
	}
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	links, err := mailbox.NewLinks(ctx, rt.pool, mailbox.Limits{})
	if err != nil {
		return err
	}
	if err := links.SetRequireDKIM(ctx, *tenant, fs.Arg(0) == "on"); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]any{"tenant": *tenant, "require_dkim": fs.Arg(0) == "on"})
}
