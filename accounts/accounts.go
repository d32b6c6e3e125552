package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/readmodel"
)

// Roles. An admin manages the tenant (settings, members, API keys,
// webhooks, mailboxes) and sees every document; a member sees their own.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Errors callers branch on; each message is fit to show to the person.
var (
	ErrInvalidInput       = errors.New("invalid input")
	ErrBadCredentials     = errors.New("wrong e-mail address or password")
	ErrTokenInvalid       = errors.New("this link is unknown, already used or expired")
	ErrAccountExists      = errors.New("an account with this e-mail address exists already")
	ErrNotFound           = errors.New("no such member")
	ErrLastAdmin          = errors.New("a tenant keeps at least one admin")
	errTokenKindUnchecked = errors.New("unknown token kind")
)

// inputError is refused input; its message is written for the person who
// typed it.
type inputError struct{ msg string }

func invalid(msg string) error { return &inputError{msg: msg} }

func (e *inputError) Error() string { return "invalid input: " + e.msg }

func (e *inputError) Is(target error) bool { return target == ErrInvalidInput }

// Message is what to tell a person about err: the refused input's reason,
// or the sentence of one of the errors above; "" for anything else (an
// outage, say), which callers report in their own words.
func Message(err error) string {
	var ie *inputError
	if errors.As(err, &ie) {
		return ie.msg
	}
	for _, known := range []error{ErrBadCredentials, ErrTokenInvalid, ErrAccountExists, ErrNotFound, ErrLastAdmin} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return ""
}

// How long a link works.
const (
	InviteTTL = 7 * 24 * time.Hour
	ResetTTL  = time.Hour
)

const (
	kindInvite = "invite"
	kindReset  = "reset"
)

// Account is a member of a tenant.
type Account struct {
	ID                uuid.UUID
	Tenant            string
	Email             string
	Name              string
	Role              string
	CreatedAt         time.Time
	PasswordChangedAt time.Time
}

// IsAdmin reports whether the account manages its tenant.
func (a Account) IsAdmin() bool { return a.Role == RoleAdmin }

// Invitation is an open invitation, as an admin's list shows it.
type Invitation struct {
	Email     string
	Role      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store reads and writes accounts and their tokens in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	q    *readmodel.Queries
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: readmodel.New(pool)} }

// NormalizeEmail lower-cases and checks an address; accounts are found by
// it, so "Ann@Example.com" and "ann@example.com" are one person.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", invalid(fmt.Sprintf("%q is not an e-mail address", email))
	}
	return email, nil
}

func checkRole(role string) error {
	if role != RoleAdmin && role != RoleMember {
		return invalid(fmt.Sprintf("role must be %s or %s", RoleAdmin, RoleMember))
	}
	return nil
}

func checkPassword(password string) error {
	n := len([]rune(password))
	if n < MinPasswordLength {
		return invalid(fmt.Sprintf("the password needs at least %d characters", MinPasswordLength))
	}
	if len(password) > maxPasswordLength {
		return invalid(fmt.Sprintf("the password is longer than %d bytes", maxPasswordLength))
	}
	return nil
}

// Invite makes an invitation link's secret for email to join tenant with
// role. Sending it is the caller's (see Mailer); inviting again makes a
// new link and leaves the older ones working until they expire.
func (s *Store) Invite(ctx context.Context, tenant, email, role string) (string, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	if err := checkRole(role); err != nil {
		return "", err
	}
	if _, err := s.q.GetAccountByEmail(ctx, email); err == nil {
		return "", ErrAccountExists
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("invite %s: %w", tenant, err)
	}
	return s.newToken(ctx, kindInvite, tenant, email, role, InviteTTL)
}

// InvitationFor returns the address and role an invitation link is for,
// without using it up (the page that asks for a name and password).
func (s *Store) InvitationFor(ctx context.Context, token string) (Invitation, error) {
	row, err := s.q.PeekAccountToken(ctx, readmodel.PeekAccountTokenParams{TokenHash: hashToken(token), Kind: kindInvite})
	if errors.Is(err, pgx.ErrNoRows) {
		return Invitation{}, ErrTokenInvalid
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("read invitation: %w", err)
	}
	return Invitation{Email: row.Email, Role: row.Role, ExpiresAt: row.ExpiresAt.Time}, nil
}

// AcceptInvitation uses an invitation link: the account is made with name
// and password, and the link is spent, in one transaction.
func (s *Store) AcceptInvitation(ctx context.Context, token, name, password string) (Account, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return Account{}, invalid("a name of 1 to 200 characters is needed")
	}
	if err := checkPassword(password); err != nil {
		return Account{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return Account{}, err
	}
	var acct Account
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := readmodel.New(tx)
		row, err := q.UseAccountToken(ctx, readmodel.UseAccountTokenParams{TokenHash: hashToken(token), Kind: kindInvite})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTokenInvalid
		}
		if err != nil {
			return err
		}
		acct = Account{ID: uuid.Must(uuid.NewV7()), Tenant: row.Tenant, Email: row.Email, Name: name, Role: row.Role}
		err = q.InsertAccount(ctx, readmodel.InsertAccountParams{ID: acct.ID, Tenant: acct.Tenant, Email: acct.Email,
			Name: acct.Name, Role: acct.Role, PasswordHash: hash})
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return ErrAccountExists
		}
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("accept invitation: %w", err)
	}
	return s.Get(ctx, acct.ID)
}

// Create makes an account directly, for the first admin of a fresh
// installation; people join by invitation.
func (s *Store) Create(ctx context.Context, tenant, email, name, role, password string) (Account, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Account{}, err
	}
	if err := checkRole(role); err != nil {
		return Account{}, err
	}
	if err := checkPassword(password); err != nil {
		return Account{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return Account{}, err
	}
	id := uuid.Must(uuid.NewV7())
	err = s.q.InsertAccount(ctx, readmodel.InsertAccountParams{ID: id, Tenant: tenant, Email: email, Name: name,
		Role: role, PasswordHash: hash})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Account{}, ErrAccountExists
	}
	if err != nil {
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	return s.Get(ctx, id)
}

// Authenticate returns the account whose address and password match.
// Unknown addresses cost the same time as wrong passwords, and both give
// ErrBadCredentials, so the answer tells a guesser nothing.
func (s *Store) Authenticate(ctx context.Context, email, password string) (Account, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(password) > maxPasswordLength {
		return Account{}, ErrBadCredentials
	}
	row, err := s.q.GetAccountByEmail(ctx, email)
	if errors.Is(err, pgx.ErrNoRows) {
		_, _ = CheckPassword(dummyHash(), password)
		return Account{}, ErrBadCredentials
	}
	if err != nil {
		return Account{}, fmt.Errorf("authenticate: %w", err)
	}
	ok, err := CheckPassword(row.PasswordHash, password)
	if err != nil {
		return Account{}, fmt.Errorf("authenticate %s: %w", row.ID, err)
	}
	if !ok {
		return Account{}, ErrBadCredentials
	}
	return fromRow(row), nil
}

// Get returns one account.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (Account, error) {
	row, err := s.q.GetAccount(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, fmt.Errorf("read account %s: %w", id, err)
	}
	return fromRow(row), nil
}

// List returns a tenant's members by address.
func (s *Store) List(ctx context.Context, tenant string) ([]Account, error) {
	rows, err := s.q.ListAccounts(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list accounts of %s: %w", tenant, err)
	}
	out := make([]Account, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

// Invitations lists a tenant's open invitations.
func (s *Store) Invitations(ctx context.Context, tenant string) ([]Invitation, error) {
	rows, err := s.q.ListPendingInvitations(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list invitations of %s: %w", tenant, err)
	}
	out := make([]Invitation, 0, len(rows))
	for _, r := range rows {
		out = append(out, Invitation{Email: r.Email, Role: r.Role, CreatedAt: r.CreatedAt.Time, ExpiresAt: r.ExpiresAt.Time})
	}
	return out, nil
}

// HasAccounts reports whether tenant has any member.
func (s *Store) HasAccounts(ctx context.Context, tenant string) (bool, error) {
	n, err := s.q.CountAccounts(ctx, tenant)
	if err != nil {
		return false, fmt.Errorf("count accounts of %s: %w", tenant, err)
	}
	return n > 0, nil
}

// SetRole changes a member's role; the last admin stays one.
func (s *Store) SetRole(ctx context.Context, tenant string, id uuid.UUID, role string) error {
	if err := checkRole(role); err != nil {
		return err
	}
	return s.changeMembers(ctx, tenant, id, func(q *readmodel.Queries) (int64, error) {
		return q.SetAccountRole(ctx, readmodel.SetAccountRoleParams{Tenant: tenant, ID: id, Role: role})
	})
}

// Remove deletes a member; the last admin stays. The caller ends the
// member's sessions (Sessions.EndAll).
func (s *Store) Remove(ctx context.Context, tenant string, id uuid.UUID) error {
	return s.changeMembers(ctx, tenant, id, func(q *readmodel.Queries) (int64, error) {
		return q.DeleteAccount(ctx, readmodel.DeleteAccountParams{Tenant: tenant, ID: id})
	})
}

// changeMembers runs change under the tenant's lock and refuses it when it
// leaves a tenant that had an admin without one.
func (s *Store) changeMembers(ctx context.Context, tenant string, id uuid.UUID, change func(*readmodel.Queries) (int64, error)) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := readmodel.New(tx)
		if err := q.LockAdmins(ctx, tenant); err != nil {
			return err
		}
		before, err := q.CountAdmins(ctx, tenant)
		if err != nil {
			return err
		}
		n, err := change(q)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		after, err := q.CountAdmins(ctx, tenant)
		if err != nil {
			return err
		}
		if before > 0 && after == 0 {
			return ErrLastAdmin
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("change member %s of %s: %w", id, tenant, err)
	}
	return nil
}

// RequestReset makes a password reset link's secret for the account with
// email. ok is false when there is no such account: the caller must answer
// the same either way, so nobody learns who has an account.
func (s *Store) RequestReset(ctx context.Context, email string) (token string, acct Account, ok bool, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	row, err := s.q.GetAccountByEmail(ctx, email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", Account{}, false, nil
	}
	if err != nil {
		return "", Account{}, false, fmt.Errorf("request password reset: %w", err)
	}
	acct = fromRow(row)
	token, err = s.newToken(ctx, kindReset, acct.Tenant, acct.Email, acct.Role, ResetTTL)
	if err != nil {
		return "", Account{}, false, err
	}
	return token, acct, true, nil
}

// ResetPassword uses a reset link: the account gets password, and the link
// is spent. The caller ends the account's sessions.
func (s *Store) ResetPassword(ctx context.Context, token, password string) (Account, error) {
	if err := checkPassword(password); err != nil {
		return Account{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return Account{}, err
	}
	var id uuid.UUID
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := readmodel.New(tx)
		row, err := q.UseAccountToken(ctx, readmodel.UseAccountTokenParams{TokenHash: hashToken(token), Kind: kindReset})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTokenInvalid
		}
		if err != nil {
			return err
		}
		acct, err := q.GetAccountByEmail(ctx, row.Email)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTokenInvalid // the account went after the link was sent
		}
		if err != nil {
			return err
		}
		id = acct.ID
		_, err = q.SetAccountPassword(ctx, readmodel.SetAccountPasswordParams{ID: id, PasswordHash: hash})
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("reset password: %w", err)
	}
	return s.Get(ctx, id)
}

// ChangePassword sets a signed-in member's new password after checking
// the current one. The caller ends the account's other sessions.
func (s *Store) ChangePassword(ctx context.Context, id uuid.UUID, current, next string) error {
	row, err := s.q.GetAccount(ctx, id)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	ok, err := CheckPassword(row.PasswordHash, current)
	if err != nil || !ok {
		return ErrBadCredentials
	}
	if err := checkPassword(next); err != nil {
		return err
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	if _, err := s.q.SetAccountPassword(ctx, readmodel.SetAccountPasswordParams{ID: id, PasswordHash: hash}); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}

func (s *Store) newToken(ctx context.Context, kind, tenant, email, role string, ttl time.Duration) (string, error) {
	if kind != kindInvite && kind != kindReset {
		return "", errTokenKindUnchecked
	}
	token := randomToken()
	err := s.q.InsertAccountToken(ctx, readmodel.InsertAccountTokenParams{TokenHash: hashToken(token), Kind: kind,
		Tenant: tenant, Email: email, Role: role,
		ExpiresAt: pgtype.Timestamptz{Time: time.Now().Add(ttl), Valid: true}})
	if err != nil {
		return "", fmt.Errorf("store %s link for %s: %w", kind, tenant, err)
	}
	return token, nil
}

// randomToken is 256 bits from the system's generator, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func fromRow(r readmodel.Account) Account {
	return Account{ID: r.ID, Tenant: r.Tenant, Email: r.Email, Name: r.Name, Role: r.Role,
		CreatedAt: r.CreatedAt.Time, PasswordChangedAt: r.PasswordChangedAt.Time}
}
