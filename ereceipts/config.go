package ereceipts

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/readmodel"
)

// ErrInvalid marks a settings request that cannot be stored as sent.
var ErrInvalid = domain.NewError(domain.KindInvalid, "invalid e-receipt settings")

// ErrNotConfigured: the tenant has not set a results endpoint yet.
var ErrNotConfigured = domain.NewError(domain.KindNotFound, "no e-receipt configuration")

// Cutoff is how far back to look: Days before now, or a fixed Date.
// At most one is set; neither means "inherit" (for a retailer).
type Cutoff struct {
	Days int        `json:"day_cutoff,omitempty"`
	Date *time.Time `json:"-"`
}

// Since is the earliest time the cutoff admits at now.
func (c Cutoff) Since(now time.Time) time.Time {
	switch {
	case c.Date != nil:
		return *c.Date
	case c.Days > 0:
		return now.AddDate(0, 0, -c.Days)
	}
	return time.Time{}
}

// Retailer is a sender address whose e-mails are receipts, with an
// optional cutoff of its own.
type Retailer struct {
	Email  string
	Cutoff Cutoff
}

// Config is one tenant's settings.
type Config struct {
	ResultsEndpoint string
	Cutoff          Cutoff
	UseAggregation  bool
	ReturnEML       bool
	Retailers       []Retailer
	UpdatedAt       time.Time
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.ResultsEndpoint)
	switch {
	case c.ResultsEndpoint == "":
		errs = append(errs, errors.New("results_endpoint is required"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("results_endpoint %q is not an absolute http or https URL", c.ResultsEndpoint))
	}
	if err := c.Cutoff.validate("", true); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for i, r := range c.Retailers {
		if !validRetailer(r.Email) {
			errs = append(errs, fmt.Errorf("retailers[%d].email %q is neither an e-mail address nor @domain", i, r.Email))
		}
		if seen[strings.ToLower(r.Email)] {
			errs = append(errs, fmt.Errorf("retailers[%d].email %q is listed twice", i, r.Email))
		}
		seen[strings.ToLower(r.Email)] = true
		if err := r.Cutoff.validate(fmt.Sprintf("retailers[%d].", i), false); err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.Retailers) > 1000 {
		errs = append(errs, fmt.Errorf("%d retailers; at most 1000", len(c.Retailers)))
	}
	if err := errors.Join(errs...); err != nil {
		return ErrInvalid.Newf("%w", err)
	}
	return nil
}

// validRetailer accepts a sender address, or "@shop.example" for every
// sender of a domain.
func validRetailer(email string) bool {
	if domain, ok := strings.CutPrefix(email, "@"); ok {
		return domain != "" && !strings.ContainsAny(domain, "@ \t<>,;") && strings.Contains(domain, ".")
	}
	a, err := mail.ParseAddress(email)
	return err == nil && a.Address == email
}

func (c Cutoff) validate(prefix string, required bool) error {
	switch {
	case c.Days != 0 && c.Date != nil:
		return fmt.Errorf("%sday_cutoff and %sdate_cutoff are both set; send exactly one", prefix, prefix)
	case c.Days < 0 || c.Days > 3650:
		return fmt.Errorf("%sday_cutoff %d is outside 1..3650 days", prefix, c.Days)
	case required && c.Days == 0 && c.Date == nil:
		return fmt.Errorf("one of %sday_cutoff (days) or %sdate_cutoff (UNIX time) is required", prefix, prefix)
	}
	return nil
}

// Store keeps the settings in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	q    *readmodel.Queries

	mu     sync.Mutex
	jobKey []byte
}

// NewStore returns a settings store.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, q: readmodel.New(pool)}
}

// ResultsEndpoints keeps the webhook that carries a tenant's results to
// its results_endpoint in step with the settings.
type ResultsEndpoints interface {
	// SetResultsEndpoint returns the webhook endpoint's id, and its
	// signing secret when the endpoint is new.
	SetResultsEndpoint(ctx context.Context, tenant, url string) (id, secret string, err error)
}

// ErrResultsEndpoint wraps a failure to make the results endpoint a
// webhook; the webhook store's own error (an invalid URL, say) is in the
// chain too.
var ErrResultsEndpoint = errors.New("could not register the results endpoint")

// Configure checks c, makes its results endpoint a webhook (when results
// is not nil) and stores c: what POST /ereceipts/config and the settings
// page do. The webhook comes first: settings that point at an endpoint no
// delivery goes to would be worse than an error. secret is set when the
// webhook is new, for the caller to show once.
func (s *Store) Configure(ctx context.Context, tenant string, c Config, results ResultsEndpoints) (webhookID, secret string, err error) {
	if err := c.Validate(); err != nil {
		return "", "", err
	}
	if results != nil {
		if webhookID, secret, err = results.SetResultsEndpoint(ctx, tenant, c.ResultsEndpoint); err != nil {
			return "", "", fmt.Errorf("%w: %w", ErrResultsEndpoint, err)
		}
	}
	if err := s.Put(ctx, tenant, c); err != nil {
		return "", "", err
	}
	return webhookID, secret, nil
}

// Put replaces the tenant's settings, retailers included, in one
// transaction.
func (s *Store) Put(ctx context.Context, tenant string, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := q.PutEReceiptConfig(ctx, readmodel.PutEReceiptConfigParams{
			Tenant: tenant, ResultsEndpoint: c.ResultsEndpoint, DayCutoff: days(c.Cutoff), DateCutoff: date(c.Cutoff),
			UseAggregation: c.UseAggregation, ReturnEml: c.ReturnEML,
		}); err != nil {
			return fmt.Errorf("store e-receipt settings: %w", err)
		}
		if err := q.DeleteAllEReceiptRetailers(ctx, tenant); err != nil {
			return fmt.Errorf("store e-receipt retailers: %w", err)
		}
		for _, r := range c.Retailers {
			if err := q.PutEReceiptRetailer(ctx, readmodel.PutEReceiptRetailerParams{Tenant: tenant,
				Email: strings.ToLower(strings.TrimSpace(r.Email)), DayCutoff: days(r.Cutoff), DateCutoff: date(r.Cutoff)}); err != nil {
				return fmt.Errorf("store e-receipt retailers: %w", err)
			}
		}
		return nil
	})
}

// Get returns the tenant's settings; ErrNotConfigured when there are none.
func (s *Store) Get(ctx context.Context, tenant string) (Config, error) {
	row, err := s.q.GetEReceiptConfig(ctx, tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		return Config{}, ErrNotConfigured
	}
	if err != nil {
		return Config{}, fmt.Errorf("load e-receipt settings: %w", err)
	}
	c := Config{ResultsEndpoint: row.ResultsEndpoint, Cutoff: cutoff(row.DayCutoff, row.DateCutoff),
		UseAggregation: row.UseAggregation, ReturnEML: row.ReturnEml, UpdatedAt: row.UpdatedAt.Time}
	if c.Retailers, err = s.Retailers(ctx, tenant); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Retailers lists the tenant's retailers.
func (s *Store) Retailers(ctx context.Context, tenant string) ([]Retailer, error) {
	rows, err := s.q.ListEReceiptRetailers(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("load e-receipt retailers: %w", err)
	}
	out := make([]Retailer, 0, len(rows))
	for _, r := range rows {
		out = append(out, Retailer{Email: r.Email, Cutoff: cutoff(r.DayCutoff, r.DateCutoff)})
	}
	return out, nil
}

// DeleteRetailers removes retailers by sender address and says how many
// there were.
func (s *Store) DeleteRetailers(ctx context.Context, tenant string, emails []string) (int64, error) {
	for i, e := range emails {
		emails[i] = strings.ToLower(strings.TrimSpace(e))
	}
	n, err := s.q.DeleteEReceiptRetailers(ctx, readmodel.DeleteEReceiptRetailersParams{Tenant: tenant, Emails: emails})
	if err != nil {
		return 0, fmt.Errorf("delete e-receipt retailers: %w", err)
	}
	return n, nil
}

func days(c Cutoff) pgtype.Int4 { return pgtype.Int4{Int32: int32(c.Days), Valid: c.Days > 0} }

func date(c Cutoff) pgtype.Timestamptz {
	if c.Date == nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: *c.Date, Valid: true}
}

func cutoff(d pgtype.Int4, t pgtype.Timestamptz) Cutoff {
	c := Cutoff{Days: int(d.Int32)}
	if t.Valid {
		at := t.Time.UTC()
		c.Date = &at
	}
	return c
}

// Window is what a mailbox search admits at one moment: e-mails since
// Since, and when Retailers is not empty only from those senders, each
// since its own time.
type Window struct {
	Since     time.Time
	Retailers []RetailerWindow
}

// RetailerWindow is one retailer's sender address and earliest time.
type RetailerWindow struct {
	Email string
	Since time.Time
}

// Window returns the tenant's search window at now. A tenant without
// settings has none: ErrNotConfigured.
func (s *Store) Window(ctx context.Context, tenant string, now time.Time) (Window, error) {
	c, err := s.Get(ctx, tenant)
	if err != nil {
		return Window{}, err
	}
	w := Window{Since: c.Cutoff.Since(now)}
	for _, r := range c.Retailers {
		since := w.Since
		if r.Cutoff.Days > 0 || r.Cutoff.Date != nil {
			since = r.Cutoff.Since(now)
		}
		w.Retailers = append(w.Retailers, RetailerWindow{Email: r.Email, Since: since})
	}
	return w, nil
}
