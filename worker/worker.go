// Package worker consumes extraction jobs from the scrape queue: fetch the
// document, extract its fields, record the outcome as an event.
//
// Invariants: a job's message is trusted with nothing but naming a
// document: its file and type are checked against the document's events in
// the job's tenant before anything is read; a job is acknowledged on the queue only after its outcome
// is appended to the stream, so a worker that dies mid-job loses nothing
// (the broker redelivers it); outcomes are recorded under the attempt's
// command id, so a job delivered twice records one outcome.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/metrics"
	"tally/queue"
	"tally/supervise"
	"tally/tracing"
)

// Extractor reads fields from a document; the extract package satisfies it.
type Extractor interface {
	Extract(ctx context.Context, content []byte, contentType string) (domain.Fields, error)
}

// TenantExtractor is an Extractor that applies what the document's tenant
// taught about its issuer (package learning); the worker prefers it.
type TenantExtractor interface {
	ExtractFor(ctx context.Context, tenant string, content []byte, contentType string) (domain.Fields, error)
}

// TextExtractor is a TenantExtractor that also returns the document's
// text, which the result event carries for full-text search; the worker
// prefers it (learning.Engine is one).
type TextExtractor interface {
	ExtractTextFor(ctx context.Context, tenant string, content []byte, contentType string) (domain.Fields, string, error)
}

// Config tunes retries and limits.
type Config struct {
	// Name identifies this worker in ExtractionStarted events.
	Name string
	// MaxAttempts is how many attempts a document gets before it is
	// FAILED (CPP_RETRY_MAX_ATTEMPTS).
	MaxAttempts int
	// Timeout bounds one job (SCRAPE_WORKER_TIMEOUT_MS).
	Timeout time.Duration
	// BackoffBase is the delay before the second attempt; it doubles per
	// attempt up to BackoffMax, with jitter.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxFileSize bounds what a job may fetch from the blob store.
	MaxFileSize int64
	// IsPermanent decides which extraction errors are not worth a retry.
	IsPermanent func(error) bool
	// Tracing, when set, makes a span of every job, a child of the
	// bridge's relay, and of its extraction (package tracing).
	Tracing *tracing.Tracer
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = "worker"
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Minute
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 2 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.MaxFileSize <= 0 {
		c.MaxFileSize = 64 << 20
	}
	if c.IsPermanent == nil {
		c.IsPermanent = func(error) bool { return false }
	}
}

// Worker handles jobs.
type Worker struct {
	cfg      Config
	commands *commands.Handler
	blobs    blob.Store
	engine   Extractor
	metrics  *metrics.Metrics
	log      *slog.Logger
}

// New returns a worker.
func New(cfg Config, cmds *commands.Handler, blobs blob.Store, engine Extractor, m *metrics.Metrics, log *slog.Logger) *Worker {
	cfg.setDefaults()
	return &Worker{cfg: cfg, commands: cmds, blobs: blobs, engine: engine, metrics: m, log: log}
}

// Consume runs on one broker channel: jobs from the scrape queue, up to the
// channel's prefetch at a time, and dead-lettered jobs from its dead-letter
// queue. It returns when the channel closes or ctx ends, after the jobs in
// hand are finished.
func (w *Worker) Consume(ctx context.Context, ch *amqp.Channel, topo queue.Topology, concurrency int) error {
	jobs, err := ch.Consume(topo.Queue, w.cfg.Name, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", topo.Queue, err)
	}
	dead, err := ch.Consume(topo.Dead(), w.cfg.Name+"-dead", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", topo.Dead(), err)
	}
	sem := make(chan struct{}, max(concurrency, 1))
	var wg sync.WaitGroup
	defer wg.Wait()
	// The heartbeat goes on only while this loop runs on a live channel.
	w.metrics.WorkerHeartbeat.SetToCurrentTime()
	depth := time.NewTicker(5 * time.Second)
	defer depth.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-depth.C:
			w.metrics.WorkerHeartbeat.SetToCurrentTime()
			for _, q := range []string{topo.Queue, topo.Dead(), topo.Delay()} {
				if n, err := queue.QueueDepth(ch, q); err == nil {
					w.metrics.QueueDepth.WithLabelValues(q).Set(float64(n))
				}
			}
		case d, ok := <-jobs:
			if !ok {
				return errors.New("job deliveries closed")
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				w.handleJob(ctx, d)
			})
		case d, ok := <-dead:
			if !ok {
				return errors.New("dead-letter deliveries closed")
			}
			w.handleDead(ctx, d, topo)
		}
	}
}

// handleJob runs one job and settles its delivery.
func (w *Worker) handleJob(ctx context.Context, d amqp.Delivery) {
	job, err := queue.Decode(d.Body)
	if err != nil {
		w.log.Error("malformed job dead-lettered", "message_id", d.MessageId, "err", err)
		_ = d.Nack(false, false)
		return
	}
	log := w.log.With("doc_id", job.DocumentID, "attempt", job.Attempt, "correlation_id", job.CorrelationID)
	start := time.Now()
	parent, _ := d.Headers[tracing.Header].(string)
	ctx, span := w.cfg.Tracing.Start(ctx, job.CorrelationID, parent, "worker job", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("tally.document.id", job.DocumentID), attribute.Int("tally.attempt", job.Attempt),
			attribute.String("tally.document.kind", metrics.Kind(job.ContentType))))
	outcome := w.run(ctx, job, log)
	span.SetAttributes(attribute.String("tally.outcome", outcome))
	span.End()
	w.metrics.Jobs.WithLabelValues(outcome).Inc()
	w.metrics.ExtractionSeconds.WithLabelValues(outcome, metrics.Kind(job.ContentType)).Observe(time.Since(start).Seconds())
	if outcome == metrics.OutcomeRequeued {
		// The outcome could not be recorded: hand the job back after a
		// pause so a down event store is not hammered.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		_ = d.Nack(false, true)
		return
	}
	if err := d.Ack(false); err != nil {
		log.Warn("ack failed; the job will be redelivered and recognised", "err", err)
	}
}

// run does the job and returns its outcome.
func (w *Worker) run(ctx context.Context, job queue.Job, log *slog.Logger) string {
	meta := commands.Meta{Tenant: job.Tenant, CorrelationID: job.CorrelationID}
	// The broker is not trusted with which file a document is: the job's
	// tenant must hold the document, and its blob key and type must be the
	// ones the document's own events record, before anything is read.
	doc, err := w.commands.Documents().Load(ctx, job.Tenant, job.DocumentID)
	switch {
	case skippable(err) || errors.Is(err, commands.ErrInvalidInput):
		log.Warn("job dropped: the tenant holds no such document", "reason", err.Error())
		return metrics.OutcomeSkipped
	case err != nil:
		log.Warn("could not load the document", "err", err)
		return metrics.OutcomeRequeued
	case doc.BlobKey != job.BlobKey || doc.ContentType != job.ContentType:
		log.Error("job dropped: its file is not the document's own", "tenant", job.Tenant)
		return metrics.OutcomeSkipped
	}
	_, err = w.commands.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: job.DocumentID, Attempt: job.Attempt, Worker: w.cfg.Name})
	switch {
	case skippable(err):
		log.Info("job skipped: attempt superseded or finished", "reason", err.Error())
		return metrics.OutcomeSkipped
	case err != nil:
		log.Warn("could not record start", "err", err)
		return metrics.OutcomeRequeued
	}
	jctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	// The kind names the span; the content and the fields stay out of it.
	jctx, span := w.cfg.Tracing.Start(jctx, job.CorrelationID, "", "extract "+metrics.Kind(job.ContentType), trace.WithSpanKind(trace.SpanKindInternal))
	fields, text, err := w.extract(jctx, job)
	if err != nil {
		// Not the error's text: a program's message may quote the file.
		span.SetStatus(codes.Error, "extraction failed")
	}
	span.End()
	cancel()
	if err == nil {
		_, err := w.commands.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: job.DocumentID,
			Attempt: job.Attempt, Fields: fields, Text: text})
		switch {
		case err == nil:
			log.Info("document extracted", "total_found", fields.Total != "")
			if doc.Machine == nil {
				// The first result only: a reprocess months later is no
				// upload's waiting time.
				w.metrics.CompletionSeconds.Observe(time.Since(doc.UploadedAt).Seconds())
			}
			return metrics.OutcomeCompleted
		case skippable(err):
			return metrics.OutcomeSkipped
		case errors.Is(err, commands.ErrInvalidInput):
			// The engine produced something the domain refuses: a bug
			// to fix, recorded as a failure rather than retried forever.
			return w.fail(ctx, meta, job, fmt.Errorf("extraction produced invalid fields: %w", err), log)
		default:
			log.Warn("could not record result", "err", err)
			return metrics.OutcomeRequeued
		}
	}
	if ctx.Err() != nil {
		// Shutting down: the job goes back to the queue untouched.
		return metrics.OutcomeRequeued
	}
	if job.Attempt >= w.cfg.MaxAttempts || w.cfg.IsPermanent(err) {
		return w.fail(ctx, meta, job, err, log)
	}
	wait := w.backoff(job.Attempt)
	_, rerr := w.commands.RetryExtraction(ctx, commands.RetryExtraction{Meta: meta, DocumentID: job.DocumentID,
		Attempt: job.Attempt, LastError: err.Error(), NotBefore: time.Now().Add(wait)})
	switch {
	case rerr == nil:
		log.Info("attempt failed, retry scheduled", "err", err, "retry_in", wait.String())
		return metrics.OutcomeRetried
	case skippable(rerr):
		return metrics.OutcomeSkipped
	default:
		log.Warn("could not record retry", "err", rerr)
		return metrics.OutcomeRequeued
	}
}

func (w *Worker) fail(ctx context.Context, meta commands.Meta, job queue.Job, cause error, log *slog.Logger) string {
	_, err := w.commands.FailExtraction(ctx, commands.FailExtraction{Meta: meta, DocumentID: job.DocumentID,
		Attempt: job.Attempt, Reason: cause.Error()})
	switch {
	case err == nil:
		log.Info("document failed", "reason", cause.Error())
		return metrics.OutcomeFailed
	case skippable(err):
		return metrics.OutcomeSkipped
	default:
		log.Warn("could not record failure", "err", err)
		return metrics.OutcomeRequeued
	}
}

// extract fetches the blob and runs the engine under the job's deadline;
// it returns the fields and, when the engine gives it, the text.
func (w *Worker) extract(ctx context.Context, job queue.Job) (domain.Fields, string, error) {
	r, err := w.blobs.Get(ctx, job.BlobKey)
	if err != nil {
		return domain.Fields{}, "", fmt.Errorf("fetch document: %w", err)
	}
	content, err := io.ReadAll(io.LimitReader(r, w.cfg.MaxFileSize+1))
	r.Close()
	if err != nil {
		return domain.Fields{}, "", fmt.Errorf("fetch document: %w", err)
	}
	if int64(len(content)) > w.cfg.MaxFileSize {
		return domain.Fields{}, "", fmt.Errorf("document larger than %d bytes", w.cfg.MaxFileSize)
	}
	var fields domain.Fields
	var text string
	switch e := w.engine.(type) {
	case TextExtractor:
		fields, text, err = e.ExtractTextFor(ctx, job.Tenant, content, job.ContentType)
	case TenantExtractor:
		fields, err = e.ExtractFor(ctx, job.Tenant, content, job.ContentType)
	default:
		fields, err = w.engine.Extract(ctx, content, job.ContentType)
	}
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return fields, text, fmt.Errorf("extraction timed out after %s: %w", w.cfg.Timeout, err)
	}
	return fields, text, err
}

// handleDead settles a job the broker gave up on: expired in the queue, or
// delivered too often (a job that kills its workers). Its attempt becomes a
// retry or, past the limit, a failure, so the document never stays PENDING.
func (w *Worker) handleDead(ctx context.Context, d amqp.Delivery, topo queue.Topology) {
	job, err := queue.Decode(d.Body)
	if err != nil {
		w.log.Error("malformed dead-lettered job dropped", "message_id", d.MessageId, "err", err)
		_ = d.Ack(false)
		return
	}
	reason := deathReason(d)
	log := w.log.With("doc_id", job.DocumentID, "attempt", job.Attempt, "correlation_id", job.CorrelationID)
	meta := commands.Meta{Tenant: job.Tenant, CorrelationID: job.CorrelationID}
	var outcome string
	if reason == "expired" && job.Attempt < w.cfg.MaxAttempts {
		_, err = w.commands.RetryExtraction(ctx, commands.RetryExtraction{Meta: meta, DocumentID: job.DocumentID,
			Attempt: job.Attempt, LastError: "job expired in the queue before a worker took it", NotBefore: time.Now()})
		outcome = metrics.OutcomeRetried
	} else {
		msg := "the job was delivered too many times without finishing (a worker stopped on it each time)"
		if reason == "expired" {
			msg = "the job expired in the queue before a worker took it"
		}
		_, err = w.commands.FailExtraction(ctx, commands.FailExtraction{Meta: meta, DocumentID: job.DocumentID,
			Attempt: job.Attempt, Reason: msg})
		outcome = metrics.OutcomeFailed
	}
	switch {
	case err == nil, skippable(err):
		log.Warn("dead-lettered job settled", "death", reason, "outcome", outcome)
		_ = d.Ack(false)
	default:
		log.Warn("could not settle dead-lettered job", "err", err)
		_ = d.Nack(false, true)
	}
}

func deathReason(d amqp.Delivery) string {
	deaths, _ := d.Headers["x-death"].([]any)
	if len(deaths) > 0 {
		if t, ok := deaths[0].(amqp.Table); ok {
			if r, ok := t["reason"].(string); ok {
				return r
			}
		}
	}
	if r, ok := d.Headers["x-first-death-reason"].(string); ok {
		return r
	}
	return "unknown"
}

// skippable errors mean the job no longer applies: the document moved to a
// newer attempt, finished, or is gone.
func skippable(err error) bool {
	return errors.Is(err, domain.ErrStaleAttempt) || errors.Is(err, domain.ErrInvalidTransition) || errors.Is(err, domain.ErrNotFound)
}

// backoff is the delay before attempt+1: exponential with jitter, so
// retries of many documents spread out.
func (w *Worker) backoff(attempt int) time.Duration {
	return supervise.Backoff{First: w.cfg.BackoffBase, Max: w.cfg.BackoffMax}.Next(attempt)
}
