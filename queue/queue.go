// Package queue is the RabbitMQ scrape queue: its topology, the job format,
// and a session that keeps a connection alive across broker restarts. The
// bridge publishes to it; workers consume from it.
//
// Invariants: a job names a document attempt and where its file is, never
// the file's bytes or personal data; jobs are persistent messages in
// durable quorum queues; a job that expires or is delivered too often is
// dead-lettered, not dropped.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"tally/supervise"
)

// Job asks a worker to extract one attempt of one document.
type Job struct {
	// ID is "<document id>:<attempt>", also the AMQP message id, so a
	// consumer can tell a redelivery from a new job.
	ID            string    `json:"job_id"`
	Tenant        string    `json:"tenant"`
	DocumentID    string    `json:"document_id"`
	Attempt       int       `json:"attempt"`
	BlobKey       string    `json:"blob_key"`
	ContentType   string    `json:"content_type"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	RequestedAt   time.Time `json:"requested_at"`
}

// JobID names a document attempt.
func JobID(documentID string, attempt int) string { return fmt.Sprintf("%s:%d", documentID, attempt) }

// Decode parses a job message body.
func Decode(body []byte) (Job, error) {
	var j Job
	if err := json.Unmarshal(body, &j); err != nil {
		return j, fmt.Errorf("decode job: %w", err)
	}
	if j.Tenant == "" || j.DocumentID == "" || j.Attempt < 1 {
		return j, errors.New("decode job: tenant, document_id and attempt are required")
	}
	return j, nil
}

// Topology names the queues and their limits.
type Topology struct {
	// Queue is the scrape queue (SCRAPE_QUEUE).
	Queue string
	// MessageTTL is how long a job may wait in the queue
	// (RABBITMQ_MESSAGE_EXPIRE_MS); an expired job is dead-lettered.
	MessageTTL time.Duration
	// DeliveryLimit dead-letters a job delivered this many times without
	// being acknowledged: a job that kills every worker that takes it.
	DeliveryLimit int
}

// Dead is the dead-letter queue of expired or undeliverable jobs.
func (t Topology) Dead() string { return t.Queue + ".dead" }

// Delay holds jobs until their backoff expires, then dead-letters them into
// the scrape queue.
func (t Topology) Delay() string { return t.Queue + ".delay" }

// Declare creates the queues if they do not exist. Declaring is
// idempotent, so every process declares on every (re)connect.
func (t Topology) Declare(ch *amqp.Channel) error {
	if _, err := ch.QueueDeclare(t.Dead(), true, false, false, false, amqp.Table{
		"x-queue-type": "quorum",
	}); err != nil {
		return fmt.Errorf("declare %s: %w", t.Dead(), err)
	}
	if _, err := ch.QueueDeclare(t.Queue, true, false, false, false, amqp.Table{
		"x-queue-type":              "quorum",
		"x-message-ttl":             t.MessageTTL.Milliseconds(),
		"x-delivery-limit":          t.DeliveryLimit,
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": t.Dead(),
	}); err != nil {
		return fmt.Errorf("declare %s: %w", t.Queue, err)
	}
	// A classic queue: per-message expiry dead-letters each job back into
	// the scrape queue when its backoff is over. No consumer reads it.
	if _, err := ch.QueueDeclare(t.Delay(), true, false, false, false, amqp.Table{
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": t.Queue,
	}); err != nil {
		return fmt.Errorf("declare %s: %w", t.Delay(), err)
	}
	return nil
}

// Session keeps one AMQP connection and channel alive for a role and runs
// its work on them, reconnecting with backoff when the broker goes away.
type Session struct {
	URL      string
	Topology Topology
	Log      *slog.Logger
	// Prefetch is the consumer's unacknowledged-message limit; 0 for a
	// publisher.
	Prefetch int
	ready    atomic.Bool
}

// Ready reports whether the session is connected, for /readyz.
func (s *Session) Ready() bool { return s.ready.Load() }

// Ping checks the session's connection.
func (s *Session) Ping(context.Context) error {
	if !s.Ready() {
		return errors.New("not connected to rabbitmq")
	}
	return nil
}

// Run connects, declares the topology and calls work with a channel until
// ctx ends. When work returns (typically because the connection closed) it
// reconnects with exponential backoff and jitter and calls work again.
func (s *Session) Run(ctx context.Context, work func(ctx context.Context, ch *amqp.Channel) error) {
	supervise.Forever{
		Backoff:    supervise.Backoff{First: 250 * time.Millisecond, Max: 10 * time.Second},
		ResetAfter: 30 * time.Second,
		Stopped: func(err error, wait time.Duration) {
			s.Log.Warn("rabbitmq session ended, reconnecting", "err", err, "retry_in", wait.String())
		},
	}.Run(ctx, func(ctx context.Context) error {
		err := s.once(ctx, work)
		s.ready.Store(false)
		return err
	})
}

func (s *Session) once(ctx context.Context, work func(ctx context.Context, ch *amqp.Channel) error) error {
	conn, err := amqp.DialConfig(s.URL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second), Heartbeat: 10 * time.Second})
	if err != nil {
		return fmt.Errorf("connect to rabbitmq: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	if err := s.Topology.Declare(ch); err != nil {
		return err
	}
	if s.Prefetch > 0 {
		if err := ch.Qos(s.Prefetch, 0, false); err != nil {
			return fmt.Errorf("set prefetch: %w", err)
		}
	}
	s.ready.Store(true)
	s.Log.Info("rabbitmq connected", "queue", s.Topology.Queue)
	// Work runs on a context that ends when the connection closes, so a
	// consumer blocked on a delivery channel notices a dead broker.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		select {
		case <-closed:
			cancel()
		case <-wctx.Done():
		}
	}()
	err = work(wctx, ch)
	if err == nil && ctx.Err() == nil {
		err = errors.New("connection closed")
	}
	return err
}

// QueueDepth is the number of ready jobs in the scrape queue.
func QueueDepth(ch *amqp.Channel, name string) (int, error) {
	q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
	if err != nil {
		return 0, err
	}
	return q.Messages, nil
}
