package webhooks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/domain"
	"tally/metrics"
	"tally/netguard"
	"tally/readmodel"
	"tally/supervise"
)

// SenderConfig tunes the Sender. Zero values get defaults from setDefaults.
type SenderConfig struct {
	// Timeout bounds one POST, from dialling to the end of the answer
	// (WEBHOOK_TIMEOUT). Default 10s.
	Timeout time.Duration
	// RetryPeriod is how long after a delivery was made it is retried
	// (WEBHOOK_RETRY_PERIOD); a failed attempt whose next try would fall
	// after it ends the delivery as failed. Every delivery gets at least
	// one attempt. Default 24h.
	RetryPeriod time.Duration
	// FirstBackoff is the wait after the first failed attempt; it doubles
	// with each attempt, up to MaxBackoff, with jitter (half to one and a
	// half times). Defaults 5s and 1h.
	FirstBackoff time.Duration
	MaxBackoff   time.Duration
	// Concurrency is how many deliveries this process sends at once.
	// Default 32.
	Concurrency int
	// PerEndpoint is how many deliveries to one endpoint are in flight at
	// once, across every sender process, so a dead endpoint holds at most
	// that many senders. Default 4.
	PerEndpoint int
	// PollInterval is how often due deliveries are looked for when nothing
	// woke the sender. Default 1s.
	PollInterval time.Duration
	// AllowPrivate lets deliveries go to addresses that are not public
	// (OUTBOUND_ALLOW_PRIVATE_NETWORKS; see netguard). Off by default: a
	// tenant's URL must not reach the operator's own services (the
	// database, a cloud metadata endpoint). The address is checked when
	// the connection is made, after DNS, so a name that resolves to a
	// private address is refused too.
	AllowPrivate bool
	// Client sends the POSTs. Default: one that follows no redirect (a 3xx
	// is a failed attempt, so a delivery never lands somewhere the tenant
	// did not register) and, unless AllowPrivate, dials public addresses
	// only and uses no proxy (a proxy would dial on its behalf, unchecked).
	Client *http.Client
	// Metrics, when set, counts attempts by result.
	Metrics *metrics.Metrics
}

func (c *SenderConfig) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetryPeriod <= 0 {
		c.RetryPeriod = 24 * time.Hour
	}
	if c.FirstBackoff <= 0 {
		c.FirstBackoff = 5 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Hour
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.PerEndpoint <= 0 {
		c.PerEndpoint = 4
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Client == nil {
		dialer := netguard.Guard{AllowPrivate: c.AllowPrivate}.Dialer(net.Dialer{Timeout: c.Timeout, KeepAlive: 30 * time.Second})
		var proxy func(*http.Request) (*url.URL, error)
		if c.AllowPrivate {
			proxy = http.ProxyFromEnvironment
		}
		c.Client = &http.Client{
			Transport: &http.Transport{
				Proxy:               proxy,
				DialContext:         dialer.DialContext,
				TLSHandshakeTimeout: c.Timeout,
				MaxIdleConnsPerHost: c.PerEndpoint,
				IdleConnTimeout:     90 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
}

// Sender POSTs due deliveries and records every attempt. Any number of
// senders may run against one database.
type Sender struct {
	store *Store
	cfg   SenderConfig
	log   *slog.Logger
	wake  chan struct{}
}

// NewSender returns a sender on store.
func NewSender(store *Store, cfg SenderConfig, log *slog.Logger) *Sender {
	cfg.setDefaults()
	return &Sender{store: store, cfg: cfg, log: log, wake: make(chan struct{}, 1)}
}

// Wake makes the sender look for due deliveries now rather than at its
// next poll.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// userAgent names the sender to receivers.
const userAgent = "Tally-Webhooks/1"

// Run sends until ctx ends. Deliveries in flight then finish their
// attempt (each within Timeout) and are recorded before Run returns.
func (s *Sender) Run(ctx context.Context) error {
	slots := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		if free := cap(slots) - len(slots); free > 0 {
			claimed, err := s.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("could not claim webhook deliveries", "err", err)
			}
			for _, c := range claimed {
				slots <- struct{}{}
				wg.Go(func() {
					defer func() { <-slots; s.Wake() }()
					s.deliver(ctx, c)
				})
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-time.After(s.cfg.PollInterval):
		}
	}
}

type claimed struct {
	readmodel.ClaimWebhookDeliveriesRow
	lease    uuid.UUID
	claimedL time.Time // local clock at the claim, to measure elapsed time
}

func (s *Sender) claim(ctx context.Context, max int) ([]claimed, error) {
	lease := uuid.New()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rows, err := s.store.q.ClaimWebhookDeliveries(ctx, readmodel.ClaimWebhookDeliveriesParams{
		PerEndpoint: int64(s.cfg.PerEndpoint), MaxClaims: int64(max),
		// Long enough for the POST and its recording; a sender that dies
		// holds its deliveries no longer than this.
		LeaseSeconds: (s.cfg.Timeout + 30*time.Second).Seconds(),
		LeaseID:      uuid.NullUUID{UUID: lease, Valid: true},
	})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]claimed, len(rows))
	for i, r := range rows {
		out[i] = claimed{ClaimWebhookDeliveriesRow: r, lease: lease, claimedL: now}
	}
	return out, nil
}

// deliver makes one attempt and records it. It runs detached from ctx's
// cancellation: an attempt under way at shutdown finishes (within Timeout)
// and is recorded, rather than being cut off and left to its lease.
func (s *Sender) deliver(ctx context.Context, c claimed) {
	ctx = context.WithoutCancel(ctx)
	log := s.log.With("delivery_id", c.ID, "endpoint_id", c.EndpointID.String(), "event_id", c.EventID)
	if c.DeletedAt.Valid {
		// The endpoint went while this delivery was on its way in.
		if err := s.store.q.CancelWebhookDeliveries(ctx, c.EndpointID); err != nil {
			log.Warn("could not cancel delivery of a deleted endpoint", "err", err)
		}
		return
	}
	secret, err := s.store.box.Open(c.SecretSealed, c.EndpointID[:])
	if err != nil {
		// Only a changed deployment key does this; retrying cannot help,
		// but recording it tells the operator.
		s.finish(ctx, log, c, attemptResult{err: "signing secret does not open: " + err.Error()})
		return
	}
	res := s.post(ctx, c, string(secret))
	s.finish(ctx, log, c, res)
}

type attemptResult struct {
	status   int // 0: no answer
	err      string
	duration time.Duration
}

func (r attemptResult) ok() bool { return r.err == "" && r.status >= 200 && r.status < 300 }

func (s *Sender) post(ctx context.Context, c claimed, secret string) attemptResult {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	ts := time.Now().Unix()
	sig, err := Sign(secret, c.EventID, ts, c.Body)
	if err != nil {
		return attemptResult{err: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Url, bytes.NewReader(c.Body))
	if err != nil {
		return attemptResult{err: "bad endpoint URL: " + unwrapURLError(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderID, c.EventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, sig)
	start := time.Now()
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		// The tenant sees one reason for every failure to connect: the
		// dial and TLS errors would map the network around its host. The
		// operator's log has the error (without the URL).
		s.log.Info("webhook connection failed", "endpoint_id", c.EndpointID.String(), "err", unwrapURLError(err))
		return attemptResult{err: netguard.Reason, duration: time.Since(start)}
	}
	// Read (a bounded part of) the answer so the connection can be reused;
	// its content is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	res := attemptResult{status: resp.StatusCode, duration: time.Since(start)}
	if !res.ok() {
		res.err = "HTTP " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	return res
}

// finish records the attempt and settles or reschedules the delivery, in
// one transaction.
func (s *Sender) finish(ctx context.Context, log *slog.Logger, c claimed, res attemptResult) {
	attempt := int(c.Attempts) + 1
	state, retryIn := StateSucceeded, time.Duration(0)
	if !res.ok() {
		state, retryIn = StatePending, s.backoff(attempt)
		// Times on the database's clock: the claim's now() plus what has
		// passed here since.
		next := c.ClaimedAt.Time.Add(time.Since(c.claimedL)).Add(retryIn)
		if next.After(c.CreatedAt.Time.Add(s.cfg.RetryPeriod)) {
			state, retryIn = StateFailed, 0
		}
	}
	status := pgtype.Int4{Int32: int32(res.status), Valid: res.status != 0}
	errText := domain.Truncate(res.err)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var held int64
	err := pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		q := s.store.q.WithTx(tx)
		if err := q.InsertWebhookAttempt(ctx, readmodel.InsertWebhookAttemptParams{
			DeliveryID: c.ID, StatusCode: status, Error: errText, DurationMs: int32(res.duration.Milliseconds())}); err != nil {
			return err
		}
		var err error
		held, err = q.FinishWebhookDelivery(ctx, readmodel.FinishWebhookDeliveryParams{
			ID: c.ID, LeaseID: uuid.NullUUID{UUID: c.lease, Valid: true}, State: state, RetryInSeconds: retryIn.Seconds(),
			LastStatus: status, LastError: errText})
		return err
	})
	s.count(err, held, state)
	switch {
	case err != nil:
		// The lease runs out and the delivery is tried again: a success
		// not recorded here is sent once more, under the same webhook-id.
		log.Warn("could not record webhook attempt", "attempt", attempt, "err", err)
	case held == 0:
		log.Warn("webhook attempt outlived its lease; recorded, the delivery's state left to its new holder", "attempt", attempt)
	case state == StateSucceeded:
		log.Info("webhook delivered", "attempt", attempt, "status", res.status, "duration_ms", res.duration.Milliseconds())
	case state == StateFailed:
		log.Warn("webhook delivery failed for good: retry period over", "attempts", attempt, "last_error", errText)
	default:
		log.Info("webhook attempt failed, retry scheduled", "attempt", attempt, "error", errText, "retry_in", retryIn.String())
	}
}

// count adds a recorded attempt to the metrics.
func (s *Sender) count(err error, held int64, state string) {
	if s.cfg.Metrics == nil || err != nil || held == 0 {
		return
	}
	result := metrics.WebhookRetry
	switch state {
	case StateSucceeded:
		result = metrics.WebhookDelivered
	case StateFailed:
		result = metrics.WebhookFailed
	}
	s.cfg.Metrics.WebhookAttempts.WithLabelValues(result).Inc()
}

// backoff is the wait after the given failed attempt: FirstBackoff
// doubling per attempt up to MaxBackoff, then jittered to half to one and
// a half times, so deliveries that failed together do not return together.
func (s *Sender) backoff(attempt int) time.Duration {
	return supervise.Backoff{First: s.cfg.FirstBackoff, Max: s.cfg.MaxBackoff}.Next(attempt)
}

// unwrapURLError drops net/http's "Post "<url>": " prefix: the URL is the
// endpoint's own and may carry a token in its query.
func unwrapURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
