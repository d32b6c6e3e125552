package mailbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"tally/domain"
	"tally/queue"
	"tally/readmodel"
)

// Kinds of scrape job.
const (
	KindLink    = "link"
	KindForward = "forward"
)

// Job asks a consumer to scrape one mailbox. It names the mailbox, never
// a login.
type Job struct {
	Kind        string    `json:"kind"`
	LinkID      string    `json:"link_id,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
}

func decodeJob(body []byte) (Job, error) {
	var j Job
	if err := json.Unmarshal(body, &j); err != nil {
		return j, fmt.Errorf("decode scrape job: %w", err)
	}
	switch j.Kind {
	case KindForward:
	case KindLink:
		if _, err := uuid.Parse(j.LinkID); err != nil {
			return j, fmt.Errorf("decode scrape job: link_id %q is not a UUID", j.LinkID)
		}
	default:
		return j, fmt.Errorf("decode scrape job: unknown kind %q", j.Kind)
	}
	return j, nil
}

// Topology is the scrape-job queue beside the extraction queue
// (<SCRAPE_QUEUE>.mailbox, with its own .dead and .delay). A job waits at
// most ttl; an expired one is dropped by the consumers, since the next
// interval brings a fresh one.
func Topology(scrapeQueue string, ttl time.Duration, deliveryLimit int) queue.Topology {
	return queue.Topology{Queue: scrapeQueue + ".mailbox", MessageTTL: ttl, DeliveryLimit: deliveryLimit}
}

// Publisher puts scrape jobs on the queue. Jobs are rare (one per link per
// interval, and API requests), so each Publish opens its own connection
// and waits for the broker's confirms: there is no connection to keep.
type Publisher struct {
	URL      string
	Topology queue.Topology
	// Timeout bounds one Publish. Default 10s.
	Timeout time.Duration
}

// ErrQueue means the jobs could not be queued; retrying later may work.
var ErrQueue = domain.NewError(domain.KindUnavailable, "the scrape queue is unavailable; retry later")

// Publish queues jobs, returning once the broker confirmed every one.
func (p *Publisher) Publish(ctx context.Context, jobs ...Job) error {
	if len(jobs) == 0 {
		return nil
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := amqp.DialConfig(p.URL, amqp.Config{Dial: amqp.DefaultDial(timeout)})
	if err != nil {
		return ErrQueue.Wrap(fmt.Errorf("connect: %w", err))
	}
	defer conn.Close()
	// The library's calls do not all take a context: closing the
	// connection unblocks them when the deadline passes.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	ch, err := conn.Channel()
	if err != nil {
		return ErrQueue.Wrap(fmt.Errorf("open channel: %w", err))
	}
	if err := p.Topology.Declare(ch); err != nil {
		return ErrQueue.Wrap(err)
	}
	if err := ch.Confirm(false); err != nil {
		return ErrQueue.Wrap(fmt.Errorf("confirm mode: %w", err))
	}
	msgs := make([]amqp.Publishing, 0, len(jobs))
	for _, j := range jobs {
		body, err := json.Marshal(j)
		if err != nil {
			return err
		}
		msgs = append(msgs, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: uuid.NewString(),
			Timestamp: j.RequestedAt, Body: body,
		})
	}
	if err := queue.PublishConfirmed(ctx, ch, p.Topology.Queue, false, msgs...); err != nil {
		return ErrQueue.Wrap(err)
	}
	return nil
}

// Scheduler queues a scrape of every linked mailbox that has none pending,
// and of the forwarding mailbox.
type Scheduler struct {
	Links     *Links
	Publisher *Publisher
	// Forward queues a scrape of the forwarding mailbox on every tick.
	Forward bool
	// Interval is how often Tick runs (MAILBOX_SCRAPE_INTERVAL): a link
	// queued less than 90% of it ago is not queued again, whichever
	// scheduler queued it.
	Interval time.Duration
	// StaleAfter: a job queued this long ago without a scrape since is
	// taken as lost and queued again. Default 1h.
	StaleAfter time.Duration
	Log        *slog.Logger
}

// Tick queues the due scrapes and returns how many.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	now := time.Now()
	stale := s.StaleAfter
	if stale <= 0 {
		stale = time.Hour
	}
	due, err := s.Links.q.DueMailboxLinks(ctx, readmodel.DueMailboxLinksParams{
		QueuedBefore: timestamptz(now.Add(-s.Interval * 9 / 10)), StaleBefore: timestamptz(now.Add(-stale)),
	})
	if err != nil {
		return 0, fmt.Errorf("list due mailboxes: %w", err)
	}
	jobs := make([]Job, 0, len(due)+1)
	for _, d := range due {
		jobs = append(jobs, Job{Kind: KindLink, LinkID: d.ID.String(), RequestedAt: now})
	}
	if s.Forward {
		jobs = append(jobs, Job{Kind: KindForward, RequestedAt: now})
	}
	// Queue first, then mark: a crash in between queues a link twice,
	// which the scrape lock and the seen table make harmless; the other
	// order could leave a link marked with no job until it goes stale.
	if err := s.Publisher.Publish(ctx, jobs...); err != nil {
		return 0, err
	}
	for _, d := range due {
		if err := s.Links.q.MarkMailboxQueued(ctx, markQueued(d.ID, now)); err != nil {
			return len(jobs), fmt.Errorf("mark mailbox queued: %w", err)
		}
	}
	return len(jobs), nil
}

// Consumer runs scrape jobs from the queue.
type Consumer struct {
	Scraper *Scraper
	// Concurrency is how many scrapes run at once. Default 2.
	Concurrency int
	// Timeout bounds one scrape. Default 10 minutes.
	Timeout time.Duration
	Log     *slog.Logger
}

// Consume runs on one broker channel until it closes or ctx ends, after
// the scrapes in hand are finished or handed back. Expired jobs reaching
// the dead-letter queue are dropped: the next interval queues fresh ones.
func (c *Consumer) Consume(ctx context.Context, ch *amqp.Channel, topo queue.Topology) error {
	jobs, err := ch.Consume(topo.Queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", topo.Queue, err)
	}
	dead, err := ch.Consume(topo.Dead(), "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", topo.Dead(), err)
	}
	sem := make(chan struct{}, max(c.Concurrency, 1))
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case d, ok := <-jobs:
			if !ok {
				return errors.New("scrape job deliveries closed")
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				c.handle(ctx, d)
			})
		case d, ok := <-dead:
			if !ok {
				return errors.New("dead scrape job deliveries closed")
			}
			c.Log.Info("dead-lettered scrape job dropped; the next interval queues a fresh one", "message_id", d.MessageId)
			_ = d.Ack(false)
		}
	}
}

func (c *Consumer) handle(ctx context.Context, d amqp.Delivery) {
	job, err := decodeJob(d.Body)
	if err != nil {
		c.Log.Error("malformed scrape job dead-lettered", "message_id", d.MessageId, "err", err)
		_ = d.Nack(false, false)
		return
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch job.Kind {
	case KindForward:
		_, err = c.Scraper.ScrapeForward(sctx)
	default:
		_, err = c.Scraper.ScrapeLink(sctx, uuid.MustParse(job.LinkID))
	}
	if ctx.Err() != nil {
		// Shutting down: another consumer takes the job.
		_ = d.Nack(false, true)
		return
	}
	switch {
	case err == nil, errors.Is(err, ErrBusy):
	case errors.Is(err, ErrNotFound):
		c.Log.Info("scrape job for a deleted mailbox dropped", "link_id", job.LinkID)
	default:
		// Recorded on the link; the next interval tries again. Retrying
		// at once would only hammer a server that refused us.
		c.Log.Warn("scrape failed; next interval tries again", "link_id", job.LinkID, "kind", job.Kind, "error_kind", errorKind(err))
	}
	_ = d.Ack(false)
}

// Service is what the API needs: links, forwarding senders and scrapes on
// demand.
type Service struct {
	*Links
	Publisher *Publisher
}

// RequestScrape queues a scrape of one of tenant's links now.
func (s *Service) RequestScrape(ctx context.Context, tenant string, id uuid.UUID) error {
	if _, err := s.Get(ctx, tenant, id); err != nil {
		return err
	}
	return s.Publisher.Publish(ctx, Job{Kind: KindLink, LinkID: id.String(), RequestedAt: time.Now()})
}
