package main

import (
	"context"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"tally/commands"
	"tally/mailbox"
	"tally/queue"
)

// mailboxFilters says which messages of linked mailboxes are receipts.
// Until retailers are configured, every message within the default
// lookback is.
func (r *runtime) mailboxFilters() mailbox.FilterSource { return mailbox.NoRetailers }

// mailboxTopology is the scrape-job queue beside SCRAPE_QUEUE. A job older
// than one interval is superseded by the next one, hence its TTL.
func (r *runtime) mailboxTopology() queue.Topology {
	return mailbox.Topology(r.cfg.ScrapeQueue, r.cfg.MailboxScrapeInterval, r.cfg.RabbitMQDeliveryLimit)
}

func (r *runtime) mailboxService(ctx context.Context) (*mailbox.Service, error) {
	// These limits bound the login check of POST /v1/mailboxes, which a
	// client waits for.
	links, err := mailbox.NewLinks(ctx, r.pool, mailbox.Limits{DialTimeout: 10 * time.Second, CommandTimeout: 20 * time.Second})
	if err != nil {
		return nil, err
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
		for {
			if err := withLock(ctx, rt, "mailbox-scheduler", func() error {
				n, err := sched.Tick(ctx)
				if n > 0 {
					rt.log.Info("mailbox scrapes queued", "jobs", n)
				}
				return err
			}); err != nil && ctx.Err() == nil {
				rt.log.Warn("queueing mailbox scrapes failed; trying again next interval", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(rt.cfg.MailboxScrapeInterval):
			}
		}
	})
	return nil
}

// startMailboxConsumer runs scrape jobs until ctx ends.
func startMailboxConsumer(ctx context.Context, wg *sync.WaitGroup, rt *runtime) (*queue.Session, error) {
	links, err := mailbox.NewLinks(ctx, rt.pool, mailbox.Limits{})
	if err != nil {
		return nil, err
	}
	scraper := &mailbox.Scraper{Links: links, Filters: rt.mailboxFilters(),
		Submit: mailbox.Commands{Handler: commands.New(rt.events, rt.blobs, rt.log)},
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
