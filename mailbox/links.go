package mailbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/readmodel"
	"tally/seal"
)

// Errors callers branch on.
var (
	// ErrInvalid: the request itself is wrong; the message says why.
	ErrInvalid = domain.NewError(domain.KindInvalid, "invalid mailbox request")
	// ErrNotFound: no such link (or another tenant's).
	ErrNotFound = domain.NewError(domain.KindNotFound, "mailbox not found")
	// ErrLimit: the tenant has linked as many mailboxes as allowed.
	ErrLimit = domain.NewError(domain.KindForbidden, "mailbox link limit reached")
	// ErrVerify: the mailbox could not be reached or logged in to when the
	// link was made; the message says why (ErrLogin among them).
	ErrVerify = domain.NewError(domain.KindUnprocessable, "the mailbox could not be verified")
)

// PasswordKeyName is the deployment key in the secrets table that seals app
// passwords.
const PasswordKeyName = "mailbox-password-key"

// Links keeps linked mailboxes and forwarding senders in PostgreSQL.
type Links struct {
	pool       *pgxpool.Pool
	q          *readmodel.Queries
	box        *seal.Box
	confirmKey []byte
	limits     Limits
	// Forwarding configures the per-tenant forwarding addresses; its zero
	// value turns forwarding off.
	Forwarding Forwarding
}

// NewLinks loads (or makes, on first use) the password and confirmation keys.
func NewLinks(ctx context.Context, pool *pgxpool.Pool, limits Limits) (*Links, error) {
	q := readmodel.New(pool)
	key, err := seal.SharedKey(ctx, q, PasswordKeyName)
	if err != nil {
		return nil, err
	}
	box, err := seal.New(key)
	if err != nil {
		return nil, err
	}
	confirmKey, err := seal.SharedKey(ctx, q, ConfirmKeyName)
	if err != nil {
		return nil, err
	}
	limits.setDefaults()
	return &Links{pool: pool, q: q, box: box, confirmKey: confirmKey, limits: limits}, nil
}

// NewLink is a user's request to link a mailbox.
type NewLink struct {
	Host     string
	Port     int
	TLS      string
	Username string
	Password string
	Folder   string
	// User is the Tally user the receipts belong to.
	User domain.User
	// Verify logs in before storing the link, so a wrong password is an
	// answer now rather than a failed scrape later.
	Verify bool
}

// Link is a linked mailbox as the API shows it: never the password.
type Link struct {
	ID              uuid.UUID
	Tenant          string
	User            domain.User
	Host            string
	Port            int
	TLS             string
	Username        string
	Folder          string
	CreatedAt       time.Time
	LastScrapeAt    time.Time // zero before the first scrape
	LastScrapeError string
	LastScrapeNew   int
	MessagesFound   int64
}

func invalid(format string, args ...any) error {
	return ErrInvalid.Newf(format, args...)
}

// validate normalises and checks a request, reporting every problem.
func (n *NewLink) validate() error {
	n.Host = strings.TrimSpace(strings.ToLower(n.Host))
	n.TLS = strings.ToLower(strings.TrimSpace(n.TLS))
	n.Folder = strings.TrimSpace(n.Folder)
	if n.Folder == "" {
		n.Folder = "INBOX"
	}
	n.User.Email = strings.ToLower(strings.TrimSpace(n.User.Email))
	n.User.Name = strings.TrimSpace(n.User.Name)
	var errs []string
	if n.Host == "" || len(n.Host) > 253 || strings.ContainsAny(n.Host, " /\\@:\t\r\n") && net.ParseIP(n.Host) == nil {
		errs = append(errs, "host must be a host name or IP address")
	}
	if n.Port < 1 || n.Port > 65535 {
		errs = append(errs, "port must be 1-65535")
	}
	switch n.TLS {
	case TLSImplicit, TLSStartTLS:
	case TLSPlain:
		if !isLoopback(n.Host) {
			errs = append(errs, "tls plain sends the password in the clear and is only for a server on this machine; use imaps or starttls")
		}
	default:
		errs = append(errs, "tls must be imaps, starttls or plain")
	}
	if n.Username == "" || len(n.Username) > 320 || hasControl(n.Username) {
		errs = append(errs, "username is required (at most 320 characters)")
	}
	if n.Password == "" || len(n.Password) > 1024 || hasControl(n.Password) {
		errs = append(errs, "password is required (at most 1024 characters, no control characters)")
	}
	if len(n.Folder) > 200 || hasControl(n.Folder) {
		errs = append(errs, "folder must be at most 200 characters")
	}
	if err := domain.ValidateEmail(n.User.Email); err != nil {
		errs = append(errs, "user email must be an e-mail address")
	}
	if len(n.User.Name) > 200 {
		errs = append(errs, "user name must be at most 200 characters")
	}
	if len(errs) > 0 {
		return invalid("%s", strings.Join(errs, "; "))
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// passwordAAD binds a sealed password to its tenant and link: copied to
// another row, it does not open.
func passwordAAD(tenant string, id uuid.UUID) []byte {
	return []byte("mailbox-password\x00" + tenant + "\x00" + id.String())
}

// Create stores a new link after checking it (and, when asked, logging in).
func (l *Links) Create(ctx context.Context, tenant string, link NewLink) (Link, error) {
	if err := link.validate(); err != nil {
		return Link{}, err
	}
	acct := Account{Host: link.Host, Port: link.Port, TLS: link.TLS, Username: link.Username, Password: link.Password, Folder: link.Folder}
	if link.Verify {
		if err := Verify(ctx, acct, l.limits); err != nil {
			// PublicError: one of three fixed reasons, never the
			// connection's own error, which would map the network.
			return Link{}, ErrVerify.Newf("%s: %w", ErrVerify.Msg, PublicError(err))
		}
	}
	id := uuid.Must(uuid.NewV7())
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		q := l.q.WithTx(tx)
		// One link at a time per tenant, so the count holds.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "mailbox-links:"+tenant); err != nil {
			return err
		}
		n, err := q.CountMailboxLinks(ctx, tenant)
		if err != nil {
			return err
		}
		if n >= int64(l.limits.MaxLinksPerTenant) {
			return ErrLimit.Newf("a tenant links at most %d mailboxes; unlink one first", l.limits.MaxLinksPerTenant)
		}
		return q.InsertMailboxLink(ctx, readmodel.InsertMailboxLinkParams{
			ID: id, Tenant: tenant, UserEmail: link.User.Email, UserName: link.User.Name, Host: link.Host, Port: int32(link.Port),
			TlsMode: link.TLS, Username: link.Username, PasswordSealed: l.box.Seal([]byte(link.Password), passwordAAD(tenant, id)),
			Folder: link.Folder,
		})
	})
	if errors.Is(err, ErrLimit) {
		return Link{}, err
	}
	if err != nil {
		return Link{}, fmt.Errorf("store mailbox link: %w", err)
	}
	return l.Get(ctx, tenant, id)
}

// Get returns one of tenant's links.
func (l *Links) Get(ctx context.Context, tenant string, id uuid.UUID) (Link, error) {
	row, err := l.q.GetMailboxLink(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && row.Tenant != tenant {
		return Link{}, fmt.Errorf("link %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Link{}, fmt.Errorf("load mailbox link: %w", err)
	}
	return linkOf(row), nil
}

// List returns tenant's links, oldest first.
func (l *Links) List(ctx context.Context, tenant string) ([]Link, error) {
	rows, err := l.q.ListMailboxLinks(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list mailbox links: %w", err)
	}
	out := make([]Link, 0, len(rows))
	for _, r := range rows {
		out = append(out, linkOf(r))
	}
	return out, nil
}

// Delete removes a link and what its scrapes remembered. Documents already
// made stay: they are the user's receipts.
func (l *Links) Delete(ctx context.Context, tenant string, id uuid.UUID) error {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("delete mailbox link: %w", err)
	}
	defer tx.Rollback(context.Background())
	q := l.q.WithTx(tx)
	n, err := q.DeleteMailboxLink(ctx, readmodel.DeleteMailboxLinkParams{Tenant: tenant, ID: id})
	if err != nil {
		return fmt.Errorf("delete mailbox link: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("link %s: %w", id, ErrNotFound)
	}
	if err := q.DeleteMailboxSeen(ctx, id); err != nil {
		return fmt.Errorf("delete mailbox link: %w", err)
	}
	return tx.Commit(ctx)
}

// account loads a link with its password opened, for a scrape.
func (l *Links) account(ctx context.Context, id uuid.UUID) (readmodel.MailboxLink, Account, error) {
	row, err := l.q.GetMailboxLink(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return row, Account{}, fmt.Errorf("link %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return row, Account{}, fmt.Errorf("load mailbox link: %w", err)
	}
	password, err := l.box.Open(row.PasswordSealed, passwordAAD(row.Tenant, row.ID))
	if err != nil {
		return row, Account{}, fmt.Errorf("open the password of link %s: %w", id, err)
	}
	return row, Account{Host: row.Host, Port: int(row.Port), TLS: row.TlsMode, Username: row.Username,
		Password: string(password), Folder: row.Folder}, nil
}

func linkOf(r readmodel.MailboxLink) Link {
	return Link{
		ID: r.ID, Tenant: r.Tenant, User: domain.User{Email: r.UserEmail, Name: r.UserName}, Host: r.Host,
		Port: int(r.Port), TLS: r.TlsMode, Username: r.Username, Folder: r.Folder, CreatedAt: r.CreatedAt.Time,
		LastScrapeAt: r.LastScrapeAt.Time, LastScrapeError: r.LastScrapeError, LastScrapeNew: int(r.LastScrapeNew),
		MessagesFound: r.MessagesFound,
	}
}

func timestamptz(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: true} }

func markQueued(id uuid.UUID, at time.Time) readmodel.MarkMailboxQueuedParams {
	return readmodel.MarkMailboxQueuedParams{ID: id, QueuedAt: timestamptz(at)}
}
