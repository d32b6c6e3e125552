package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/readmodel"
	"tally/seal"
)

// Errors callers branch on.
var (
	// ErrNotFound: no such endpoint for this tenant (or it was deleted).
	ErrNotFound = domain.NewError(domain.KindNotFound, "webhook endpoint not found")
	// ErrInvalid: the endpoint as given cannot be registered; the message
	// says why.
	ErrInvalid = domain.NewError(domain.KindUnprocessable, "invalid webhook endpoint")
)

// secretsKeyName is the deployment key that seals signing secrets.
const secretsKeyName = "webhook-secrets"

// Limits of what an endpoint may say.
const (
	maxURLLength         = 2000
	maxDescriptionLength = 500
	maxNameLength        = 100
	// MaxEndpoints is how many endpoints one tenant may have: each event
	// becomes a delivery per endpoint, so the number bounds the work one
	// tenant can cause.
	MaxEndpoints = 25
)

// Endpoint is a registered receiver. Its secret is never part of it: it is
// shown once, when the endpoint is made.
type Endpoint struct {
	ID     uuid.UUID `json:"id"`
	Tenant string    `json:"-"`
	// Name is set on endpoints made by Upsert (e.g. "ereceipt-results").
	Name        string    `json:"name,omitempty"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Format      string    `json:"format"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// EndpointSpec is what a tenant says about an endpoint.
type EndpointSpec struct {
	URL    string
	Events []string
	// Format of the bodies; "" means FormatEvent.
	Format      string
	Description string
}

// Store keeps endpoints, deliveries and attempts. It is safe for
// concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	q       *readmodel.Queries
	box     *seal.Box
	formats []string
}

// Open returns a Store on pool. formats are the body formats endpoints may
// use besides FormatEvent; each needs a Renderer in the Dispatcher.
func Open(ctx context.Context, pool *pgxpool.Pool, formats ...string) (*Store, error) {
	q := readmodel.New(pool)
	key, err := seal.SharedKey(ctx, q, secretsKeyName)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	box, err := seal.New(key)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	all := append([]string{FormatEvent}, formats...)
	return &Store{pool: pool, q: q, box: box, formats: all}, nil
}

// Formats lists the body formats endpoints may use.
func (s *Store) Formats() []string { return slices.Clone(s.formats) }

// Validate checks a spec and returns it normalised (format filled in,
// events de-duplicated and sorted). Errors wrap ErrInvalid and say what is
// wrong in words a tenant can act on.
func (s *Store) Validate(spec EndpointSpec) (EndpointSpec, error) {
	var problems []string
	u, err := url.Parse(strings.TrimSpace(spec.URL))
	switch {
	case spec.URL == "":
		problems = append(problems, "url is required")
	case len(spec.URL) > maxURLLength:
		problems = append(problems, fmt.Sprintf("url is longer than %d characters", maxURLLength))
	case err != nil:
		problems = append(problems, "url does not parse: "+err.Error())
	case u.Scheme != "http" && u.Scheme != "https":
		problems = append(problems, fmt.Sprintf("url must be an absolute http:// or https:// URL (got scheme %q)", u.Scheme))
	case u.Host == "" || u.Hostname() == "":
		problems = append(problems, "url has no host")
	case u.User != nil:
		problems = append(problems, "url must not carry credentials; deliveries are authenticated by their signature")
	case u.Fragment != "":
		problems = append(problems, "url must not have a #fragment")
	default:
		spec.URL = u.String()
	}
	if len(spec.Events) == 0 {
		problems = append(problems, "events must name at least one of "+strings.Join(EventTypes(), ", "))
	}
	var events []string
	for _, e := range spec.Events {
		if !slices.Contains(EventTypes(), e) {
			problems = append(problems, fmt.Sprintf("event %q is not one of %s", e, strings.Join(EventTypes(), ", ")))
			continue
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	slices.Sort(events)
	spec.Events = events
	if spec.Format == "" {
		spec.Format = FormatEvent
	}
	if !slices.Contains(s.formats, spec.Format) {
		problems = append(problems, fmt.Sprintf("format %q is not one of %s", spec.Format, strings.Join(s.formats, ", ")))
	}
	if utf8.RuneCountInString(spec.Description) > maxDescriptionLength {
		problems = append(problems, fmt.Sprintf("description is longer than %d characters", maxDescriptionLength))
	}
	if len(problems) > 0 {
		return spec, ErrInvalid.Newf("%s", strings.Join(problems, "; "))
	}
	return spec, nil
}

// Create registers an endpoint and returns it with its signing secret,
// which is not shown again.
func (s *Store) Create(ctx context.Context, tenant string, spec EndpointSpec) (Endpoint, string, error) {
	spec, err := s.Validate(spec)
	if err != nil {
		return Endpoint{}, "", err
	}
	n, err := s.q.CountWebhookEndpoints(ctx, tenant)
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("count webhook endpoints: %w", err)
	}
	if n >= MaxEndpoints {
		return Endpoint{}, "", ErrInvalid.Newf("a tenant may have at most %d endpoints; delete one first", MaxEndpoints)
	}
	return s.insert(ctx, s.q, tenant, "", spec)
}

func (s *Store) insert(ctx context.Context, q *readmodel.Queries, tenant, name string, spec EndpointSpec) (Endpoint, string, error) {
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	id := uuid.New()
	row, err := q.InsertWebhookEndpoint(ctx, readmodel.InsertWebhookEndpointParams{
		ID: id, Tenant: tenant, Name: name, Url: spec.URL, SecretSealed: s.box.Seal([]byte(secret), id[:]),
		Events: spec.Events, Format: spec.Format, Description: spec.Description,
	})
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("register webhook endpoint: %w", err)
	}
	return Endpoint{ID: id, Tenant: tenant, Name: name, URL: spec.URL, Events: spec.Events, Format: spec.Format,
		Description: spec.Description, CreatedAt: row.CreatedAt.Time, UpdatedAt: row.UpdatedAt.Time}, secret, nil
}

// Upsert makes or updates the tenant's endpoint called name, for endpoints
// Tally manages itself (such as the one an e-receipt configuration names).
// The secret is returned only when the endpoint is new; an update keeps
// the old secret, id and registration time.
func (s *Store) Upsert(ctx context.Context, tenant, name string, spec EndpointSpec) (Endpoint, string, error) {
	if name == "" || len(name) > maxNameLength {
		return Endpoint{}, "", ErrInvalid.Newf("name must be 1-%d characters", maxNameLength)
	}
	spec, err := s.Validate(spec)
	if err != nil {
		return Endpoint{}, "", err
	}
	// Two upserts racing to create the same name: the unique index lets one
	// win, and the loser finds its row on the second pass.
	for try := 0; ; try++ {
		ep, secret, err := s.upsertOnce(ctx, tenant, name, spec)
		var pgErr *pgconn.PgError
		if try == 0 && errors.As(err, &pgErr) && pgErr.Code == "23505" {
			continue
		}
		return ep, secret, err
	}
}

func (s *Store) upsertOnce(ctx context.Context, tenant, name string, spec EndpointSpec) (Endpoint, string, error) {
	var (
		ep     Endpoint
		secret string
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		row, err := q.NamedWebhookEndpointForUpdate(ctx, readmodel.NamedWebhookEndpointForUpdateParams{Tenant: tenant, Name: name})
		if errors.Is(err, pgx.ErrNoRows) {
			ep, secret, err = s.insert(ctx, q, tenant, name, spec)
			return err
		}
		if err != nil {
			return fmt.Errorf("read webhook endpoint %s: %w", name, err)
		}
		updated, err := q.UpdateWebhookEndpoint(ctx, readmodel.UpdateWebhookEndpointParams{
			ID: row.ID, Url: spec.URL, Events: spec.Events, Format: spec.Format, Description: spec.Description})
		if err != nil {
			return fmt.Errorf("update webhook endpoint %s: %w", name, err)
		}
		ep = Endpoint{ID: row.ID, Tenant: tenant, Name: name, URL: spec.URL, Events: spec.Events, Format: spec.Format,
			Description: spec.Description, CreatedAt: row.CreatedAt.Time, UpdatedAt: updated.Time}
		return nil
	})
	return ep, secret, err
}

// Get returns one of the tenant's endpoints.
func (s *Store) Get(ctx context.Context, tenant string, id uuid.UUID) (Endpoint, error) {
	row, err := s.q.GetWebhookEndpoint(ctx, readmodel.GetWebhookEndpointParams{Tenant: tenant, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Endpoint{}, ErrNotFound
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("read webhook endpoint: %w", err)
	}
	return Endpoint{ID: row.ID, Tenant: row.Tenant, Name: row.Name, URL: row.Url, Events: row.Events, Format: row.Format,
		Description: row.Description, CreatedAt: row.CreatedAt.Time, UpdatedAt: row.UpdatedAt.Time}, nil
}

// List returns the tenant's endpoints, oldest first.
func (s *Store) List(ctx context.Context, tenant string) ([]Endpoint, error) {
	rows, err := s.q.ListWebhookEndpoints(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	out := make([]Endpoint, 0, len(rows))
	for _, row := range rows {
		out = append(out, Endpoint{ID: row.ID, Tenant: row.Tenant, Name: row.Name, URL: row.Url, Events: row.Events,
			Format: row.Format, Description: row.Description, CreatedAt: row.CreatedAt.Time, UpdatedAt: row.UpdatedAt.Time})
	}
	return out, nil
}

// Delete stops an endpoint: it gets no new deliveries and its pending ones
// are cancelled. Its deliveries stay readable for an operator.
func (s *Store) Delete(ctx context.Context, tenant string, id uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		n, err := q.DeleteWebhookEndpoint(ctx, readmodel.DeleteWebhookEndpointParams{Tenant: tenant, ID: id})
		if err != nil {
			return fmt.Errorf("delete webhook endpoint: %w", err)
		}
		if n == 0 {
			return ErrNotFound
		}
		if err := q.CancelWebhookDeliveries(ctx, id); err != nil {
			return fmt.Errorf("cancel deliveries of webhook endpoint: %w", err)
		}
		return nil
	})
}

// RotateSecret gives an endpoint a new signing secret and returns it; this
// is the only time it is shown. Attempts from now on, retries of earlier
// deliveries included, are signed with it.
func (s *Store) RotateSecret(ctx context.Context, tenant string, id uuid.UUID) (string, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	n, err := s.q.RotateWebhookSecret(ctx, readmodel.RotateWebhookSecretParams{Tenant: tenant, ID: id,
		SecretSealed: s.box.Seal([]byte(secret), id[:])})
	if err != nil {
		return "", fmt.Errorf("rotate webhook secret: %w", err)
	}
	if n == 0 {
		return "", ErrNotFound
	}
	return secret, nil
}

// Delivery is one event for one endpoint, with every attempt at it.
type Delivery struct {
	ID         int64     `json:"id"`
	EndpointID uuid.UUID `json:"endpoint_id"`
	// EventID is also the webhook-id header of every attempt.
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	DocumentID string `json:"document_id"`
	Sequence   int64  `json:"sequence"`
	// State is pending, succeeded, failed (for good: the retry period is
	// over) or cancelled (the endpoint was deleted).
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"created_at"`
	// NextAttemptAt is set while the delivery is pending.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	SettledAt     *time.Time `json:"settled_at,omitempty"`
	LastStatus    *int       `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	// Log lists the attempts, oldest first.
	Log []Attempt `json:"attempt_log"`
}

// Attempt is one POST of a delivery.
type Attempt struct {
	At time.Time `json:"at"`
	// StatusCode is the receiver's answer; absent when none came.
	StatusCode *int `json:"status_code,omitempty"`
	// Error says why the attempt failed: a status outside 2xx, a timeout,
	// a refused connection.
	Error      string `json:"error,omitempty"`
	DurationMS int    `json:"duration_ms"`
}

// Delivery states.
const (
	StatePending   = "pending"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Deliveries lists an endpoint's deliveries newest first, up to limit,
// starting below beforeID (0: from the newest), each with its attempts.
// The caller has checked that the endpoint belongs to the tenant asking.
func (s *Store) Deliveries(ctx context.Context, endpointID uuid.UUID, beforeID int64, limit int) ([]Delivery, error) {
	rows, err := s.q.ListWebhookDeliveries(ctx, readmodel.ListWebhookDeliveriesParams{
		EndpointID: endpointID, BeforeID: beforeID, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	out := make([]Delivery, 0, len(rows))
	ids := make([]int64, 0, len(rows))
	index := map[int64]int{}
	for _, r := range rows {
		d := Delivery{ID: r.ID, EndpointID: r.EndpointID, EventID: r.EventID, EventType: r.EventType, DocumentID: r.DocumentID,
			Sequence: r.StreamSequence, State: r.State, Attempts: int(r.Attempts), CreatedAt: r.CreatedAt.Time,
			LastError: r.LastError, SettledAt: timePtr(r.SettledAt), LastStatus: intPtr(r.LastStatus), Log: []Attempt{}}
		if r.State == StatePending {
			d.NextAttemptAt = timePtr(r.NextAttemptAt)
		}
		index[r.ID] = len(out)
		ids = append(ids, r.ID)
		out = append(out, d)
	}
	if len(ids) == 0 {
		return out, nil
	}
	attempts, err := s.q.ListWebhookAttempts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list webhook attempts: %w", err)
	}
	for _, a := range attempts {
		d := &out[index[a.DeliveryID]]
		d.Log = append(d.Log, Attempt{At: a.AttemptedAt.Time, StatusCode: intPtr(a.StatusCode), Error: a.Error,
			DurationMS: int(a.DurationMs)})
	}
	return out, nil
}

func timePtr(t pgtype.Timestamptz) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

func intPtr(n pgtype.Int4) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int32)
	return &v
}

// EventTest is the type of the deliveries SendTest makes. Its data holds
// event_id, endpoint_id and tenant, nothing about documents.
const EventTest = "webhook.test"

// Test deliveries a tenant may queue per TestWindow: each one makes Tally
// connect to a host the tenant chose, so they are not free.
const (
	TestsPerWindow = 10
	TestWindow     = time.Minute
)

// ErrTooManyTests: the tenant queued TestsPerWindow test deliveries within
// TestWindow; its cases say when the next one is allowed (RetryAfter).
var ErrTooManyTests = domain.NewError(domain.KindTooMany, "too many webhook test deliveries")

// SendTest queues a webhook.test delivery to ep, signed and retried like
// any other; at most TestsPerWindow per tenant and TestWindow.
func (s *Store) SendTest(ctx context.Context, ep Endpoint) (Delivery, error) {
	eventID := "test_" + uuid.NewString()
	now := time.Now().UTC()
	body, err := json.Marshal(map[string]any{"type": EventTest, "timestamp": now,
		"data": map[string]any{"event_id": eventID, "endpoint_id": ep.ID, "tenant": ep.Tenant}})
	if err != nil {
		return Delivery{}, err
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := q.LockWebhookTests(ctx, ep.Tenant); err != nil {
			return err
		}
		recent, err := q.RecentWebhookTests(ctx, readmodel.RecentWebhookTestsParams{Tenant: ep.Tenant,
			SpanSeconds: TestWindow.Seconds()})
		if err != nil {
			return err
		}
		if recent.Queued >= TestsPerWindow {
			wait := max(time.Duration(recent.FreesIn*float64(time.Second)), time.Second).Round(time.Second)
			return ErrTooManyTests.Newf("%s: at most %d per %s; retry in %s", ErrTooManyTests.Msg, TestsPerWindow, TestWindow, wait).Retry(wait)
		}
		id, err = q.InsertWebhookTestDelivery(ctx, readmodel.InsertWebhookTestDeliveryParams{
			EndpointID: ep.ID, Tenant: ep.Tenant, EventID: eventID, EventType: EventTest, Body: body})
		return err
	})
	if errors.Is(err, ErrTooManyTests) {
		return Delivery{}, err
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("queue test delivery: %w", err)
	}
	return Delivery{ID: id, EndpointID: ep.ID, EventID: eventID, EventType: EventTest, State: StatePending,
		CreatedAt: now, Log: []Attempt{}}, nil
}
