package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"

	"github.com/google/uuid"

	"tally/ereceipts"
	"tally/metrics"
	"tally/personal"
	"tally/webhooks"
)

// openWebhooks opens the webhook store (its sealing key comes from the
// database, made on first use).
func (r *runtime) openWebhooks(ctx context.Context) (*webhooks.Store, error) {
	return webhooks.Open(ctx, r.pool, ereceipts.Format)
}

// ereceiptResults keeps each tenant's e-receipt results_endpoint a webhook
// endpoint of format "ereceipt", so results travel with the same signing,
// retries and audit trail as every other delivery.
type ereceiptResults struct{ hooks *webhooks.Store }

func (e ereceiptResults) SetResultsEndpoint(ctx context.Context, tenant, url string) (string, string, error) {
	ep, secret, err := e.hooks.Upsert(ctx, tenant, "ereceipt-results", webhooks.EndpointSpec{
		URL: url, Events: []string{webhooks.EventCompleted, webhooks.EventRevised}, Format: ereceipts.Format,
		Description: "e-receipt results (POST /ereceipts/config)",
	})
	if err != nil {
		return "", "", err
	}
	return ep.ID.String(), secret, nil
}

// startWebhooks runs the webhook dispatcher and sender until ctx ends.
// Nothing is started when the store cannot be opened.
func startWebhooks(ctx context.Context, wg *sync.WaitGroup, rt *runtime, m *metrics.Metrics) error {
	store, err := rt.openWebhooks(ctx)
	if err != nil {
		return err
	}
	log := rt.log.With("role", "webhooks")
	sender := webhooks.NewSender(store, webhooks.SenderConfig{
		Timeout: rt.cfg.WebhookTimeout, RetryPeriod: rt.cfg.WebhookRetryPeriod, AllowPrivate: rt.cfg.OutboundAllowPrivateNetworks, Metrics: m}, log)
	results := &ereceipts.Renderer{Docs: rt.commands().Documents(), Blobs: rt.blobs, Settings: ereceipts.NewStore(rt.pool),
		Users: personal.New(rt.pool), MaxEML: rt.cfg.MaxFileSize()}
	d := &webhooks.Dispatcher{Events: rt.events, Store: store, Log: log, OnDelivery: sender.Wake,
		Renderers: map[string]webhooks.Renderer{webhooks.FormatEvent: webhooks.EventRenderer{}, ereceipts.Format: results}}
	wg.Go(func() {
		if err := d.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("webhook dispatcher stopped", "err", err)
		}
	})
	wg.Go(func() { _ = sender.Run(ctx) })
	return nil
}

// runWebhooks is the WEBHOOKS role: dispatcher and sender. Any number may
// run: the stream's durable consumer shares events among them, and senders
// claim deliveries with SKIP LOCKED.
func runWebhooks(ctx context.Context, rt *runtime) error {
	// The blob store too: e-receipt results may carry the raw e-mail.
	if err := rt.openStores(ctx); err != nil {
		return err
	}
	m := metrics.New()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if err := startWebhooks(ctx, &wg, rt, m); err != nil {
		return err
	}
	err := serveProbes(ctx, rt, m, storeChecks(rt))
	cancel()
	wg.Wait()
	return err
}

// runWebhooksTool is `tally webhooks deliveries ENDPOINT_ID [--limit N]`:
// an operator reads any endpoint's deliveries and attempts, deleted
// endpoints' included, as JSON.
func runWebhooksTool(ctx context.Context, rt *runtime, args []string, stdout io.Writer) error {
	const usage = "usage: tally webhooks deliveries ENDPOINT_ID [--limit N]"
	if len(args) < 2 || args[0] != "deliveries" {
		return errors.New(usage)
	}
	id, err := uuid.Parse(args[1])
	if err != nil {
		return fmt.Errorf("%q is not an endpoint id (UUID); %s", args[1], usage)
	}
	fs := flag.NewFlagSet("webhooks deliveries", flag.ContinueOnError)
	limit := fs.Int("limit", 50, "newest deliveries to show")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if *limit < 1 {
		return errors.New("--limit must be at least 1")
	}
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	store, err := rt.openWebhooks(ctx)
	if err != nil {
		return err
	}
	ds, err := store.Deliveries(ctx, id, 0, *limit)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(ds)
}
