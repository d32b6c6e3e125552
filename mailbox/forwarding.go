package mailbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tally/domain"
	mailer "tally/mail"
	"tally/mailauth"
	"tally/readmodel"
)

// Errors of forwarding senders.
var (
	// ErrBadConfirmation: a confirmation link this deployment did not make,
	// or one that expired, or whose sender was removed since.
	ErrBadConfirmation = domain.NewError(domain.KindInvalid, "this confirmation link is not valid or has expired")
	// ErrNoForwarding: no forwarding mailbox, or no way to mail
	// confirmation links, is configured.
	ErrNoForwarding = domain.NewError(domain.KindUnavailable, "forwarding is not configured (FORWARD_IMAP_URL and SMTP_URL)")
)

// ConfirmKeyName is the deployment key that signs sender confirmation links.
const ConfirmKeyName = "forwarding-confirm-key"

// Mailer sends one e-mail (mail.Sender does).
type Mailer interface {
	Send(ctx context.Context, m mailer.Message) error
}

// Forwarding is what the per-tenant forwarding addresses need.
type Forwarding struct {
	// Inbox is the forwarding mailbox's own address (FORWARD_IMAP_URL's
	// address); a tenant's address is its local part plus "+" and the
	// tenant's token. Empty: forwarding is off.
	Inbox string
	// PublicURL is where confirmation links point.
	PublicURL string
	// Mail sends confirmation links; nil: senders cannot be registered.
	Mail Mailer
	// ConfirmTTL is how long a confirmation link works. Default 7 days.
	ConfirmTTL time.Duration
	// ResendAfter is how long an unconfirmed sender waits before
	// registering it again mails another link. Default 10 minutes.
	ResendAfter time.Duration
}

func (f *Forwarding) setDefaults() {
	if f.ConfirmTTL <= 0 {
		f.ConfirmTTL = 7 * 24 * time.Hour
	}
	if f.ResendAfter <= 0 {
		f.ResendAfter = 10 * time.Minute
	}
}

// ForwardingAddress is where a tenant's users forward receipts.
type ForwardingAddress struct {
	Address string
	// RequireDKIM: a forward counts only when its sender's domain signed
	// it (the operator may turn this off per tenant).
	RequireDKIM bool
}

// Sender is a registered forwarding sender.
type Sender struct {
	Email string
	Name  string
	// Confirmed: the owner of the address followed the link mailed to it;
	// until then its forwards are not taken.
	Confirmed bool
	CreatedAt time.Time
}

// tokenEncoding spells address tokens in characters every mail system
// keeps in a local part, in one case.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Address returns tenant's forwarding address, making its token on first
// use.
func (l *Links) Address(ctx context.Context, tenant string) (ForwardingAddress, error) {
	if l.Forwarding.Inbox == "" {
		return ForwardingAddress{}, ErrNoForwarding
	}
	row, err := l.forwardingRow(ctx, tenant)
	if err != nil {
		return ForwardingAddress{}, err
	}
	return ForwardingAddress{Address: PlusAddress(l.Forwarding.Inbox, row.Token), RequireDKIM: row.RequireDkim}, nil
}

func (l *Links) forwardingRow(ctx context.Context, tenant string) (readmodel.ForwardingAddress, error) {
	row, err := l.q.GetForwardingAddress(ctx, tenant)
	if err == nil {
		return row, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return row, fmt.Errorf("load forwarding address: %w", err)
	}
	raw := make([]byte, 10)
	_, _ = rand.Read(raw)
	if err := l.q.EnsureForwardingAddress(ctx, readmodel.EnsureForwardingAddressParams{Tenant: tenant,
		Token: tokenEncoding.EncodeToString(raw)}); err != nil {
		return row, fmt.Errorf("make forwarding address: %w", err)
	}
	row, err = l.q.GetForwardingAddress(ctx, tenant)
	if err != nil {
		return row, fmt.Errorf("load forwarding address: %w", err)
	}
	return row, nil
}

// SetRequireDKIM is the operator's switch: whether tenant's forwards must
// pass DKIM for their sender's domain.
func (l *Links) SetRequireDKIM(ctx context.Context, tenant string, required bool) error {
	if _, err := l.forwardingRow(ctx, tenant); err != nil {
		return err
	}
	if _, err := l.q.SetForwardingDKIM(ctx, readmodel.SetForwardingDKIMParams{Tenant: tenant, RequireDkim: required}); err != nil {
		return fmt.Errorf("set forwarding DKIM: %w", err)
	}
	return nil
}

// PlusAddress is inbox with "+token" added to its local part.
func PlusAddress(inbox, token string) string {
	at := strings.LastIndexByte(inbox, '@')
	if at < 0 {
		return inbox
	}
	return inbox[:at] + "+" + token + inbox[at:]
}

// RegisterSender says that messages email forwards to tenant's address
// belong to that user once the address is confirmed; it mails a
// confirmation link to email (at most once per ResendAfter). The answer
// does not depend on other tenants: the same address may be registered by
// several, each confirming on its own.
func (l *Links) RegisterSender(ctx context.Context, tenant, email, name string) (Sender, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	name = strings.TrimSpace(name)
	if err := domain.ValidateEmail(email); err != nil {
		return Sender{}, invalid("email must be an e-mail address")
	}
	if len(name) > 200 || hasControl(name) {
		return Sender{}, invalid("name must be at most 200 characters")
	}
	f := l.Forwarding
	f.setDefaults()
	if f.Mail == nil || f.Inbox == "" {
		return Sender{}, ErrNoForwarding
	}
	addr, err := l.Address(ctx, tenant)
	if err != nil {
		return Sender{}, err
	}
	row, err := l.q.UpsertForwardingSender(ctx, readmodel.UpsertForwardingSenderParams{Tenant: tenant, Email: email, UserName: name})
	if err != nil {
		return Sender{}, fmt.Errorf("register forwarding sender: %w", err)
	}
	if !row.ConfirmedAt.Valid {
		claimed, err := l.q.ClaimConfirmationMail(ctx, readmodel.ClaimConfirmationMailParams{ID: row.ID,
			Interval: pgtype.Interval{Microseconds: f.ResendAfter.Microseconds(), Valid: true}})
		if err != nil {
			return Sender{}, fmt.Errorf("register forwarding sender: %w", err)
		}
		if claimed > 0 {
			if err := l.mailConfirmation(ctx, f, row, addr.Address); err != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = l.q.ReleaseConfirmationMail(rctx, row.ID)
				return Sender{}, err
			}
		}
	}
	return senderOf(row), nil
}

var (
	// ErrConfirmationMail means a forwarding sender's confirmation link
	// could not be e-mailed (the mail server is down or deferred it); the
	// sender is registered, and registering again later mails the link.
	ErrConfirmationMail = domain.NewError(domain.KindUnavailable, "the confirmation e-mail could not be sent; retry later")
	// ErrConfirmationRefused means the mail server refused the
	// confirmation e-mail for good (no such mailbox, say): the address
	// cannot confirm, and retrying will not change that.
	ErrConfirmationRefused = domain.NewError(domain.KindUnprocessable, "the mail server refused the confirmation e-mail to this address; check the address")
)

func (l *Links) mailConfirmation(ctx context.Context, f Forwarding, row readmodel.ForwardingSender, address string) error {
	link := strings.TrimRight(f.PublicURL, "/") + "/v1/forwarding-senders/confirm?token=" +
		l.confirmToken(row, time.Now().Add(f.ConfirmTTL))
	text := fmt.Sprintf("Someone asked Tally to take the e-mails you forward to %s as your receipts.\n\n"+
		"If that was you, confirm this address:\n\n%s\n\n"+
		"Until it is confirmed, nothing you forward is taken. If it was not you, ignore this e-mail.\n", address, link)
	if err := f.Mail.Send(ctx, mailer.Message{To: row.Email, Subject: "Confirm your address for forwarding receipts to Tally", Text: text}); err != nil {
		if errors.Is(err, mailer.ErrPermanent) {
			return ErrConfirmationRefused.Wrap(err)
		}
		// Mail servers defer for minutes rather than seconds.
		return ErrConfirmationMail.Wrap(err).Retry(time.Minute)
	}
	return nil
}

// confirmToken signs a sender's id and an expiry; the link carries no
// address, since request URLs end up in logs.
func (l *Links) confirmToken(row readmodel.ForwardingSender, expires time.Time) string {
	payload := make([]byte, 24)
	copy(payload, row.ID[:])
	binary.BigEndian.PutUint64(payload[16:], uint64(expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(l.confirmMAC(row, payload))
}

// confirmMAC binds the token to the sender's tenant and address too, so
// it confirms nothing else.
func (l *Links) confirmMAC(row readmodel.ForwardingSender, payload []byte) []byte {
	mac := hmac.New(sha256.New, l.confirmKey)
	mac.Write([]byte("forwarding-confirm\x00" + row.Tenant + "\x00" + row.Email + "\x00"))
	mac.Write(payload)
	return mac.Sum(nil)
}

// ConfirmSender follows a confirmation link: from now on the sender's
// forwards count.
func (l *Links) ConfirmSender(ctx context.Context, token string) error {
	p64, sig64, ok := strings.Cut(token, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.DecodeString(sig64)
	if !ok || err1 != nil || err2 != nil || len(payload) != 24 {
		return ErrBadConfirmation
	}
	id, _ := uuid.FromBytes(payload[:16])
	if time.Now().Unix() > int64(binary.BigEndian.Uint64(payload[16:])) {
		return ErrBadConfirmation
	}
	row, err := l.q.GetForwardingSenderByID(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrBadConfirmation
	}
	if err != nil {
		return fmt.Errorf("confirm forwarding sender: %w", err)
	}
	if !hmac.Equal(sig, l.confirmMAC(row, payload)) {
		return ErrBadConfirmation
	}
	if _, err := l.q.ConfirmForwardingSender(ctx, id); err != nil {
		return fmt.Errorf("confirm forwarding sender: %w", err)
	}
	return nil
}

// Senders lists tenant's forwarding senders.
func (l *Links) Senders(ctx context.Context, tenant string) ([]Sender, error) {
	rows, err := l.q.ListForwardingSenders(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list forwarding senders: %w", err)
	}
	out := make([]Sender, 0, len(rows))
	for _, r := range rows {
		out = append(out, senderOf(r))
	}
	return out, nil
}

func senderOf(r readmodel.ForwardingSender) Sender {
	return Sender{Email: r.Email, Name: r.UserName, Confirmed: r.ConfirmedAt.Valid, CreatedAt: r.CreatedAt.Time}
}

// DeleteSender unregisters one of tenant's forwarding senders.
func (l *Links) DeleteSender(ctx context.Context, tenant, email string) error {
	n, err := l.q.DeleteForwardingSender(ctx, readmodel.DeleteForwardingSenderParams{Tenant: tenant,
		Email: strings.ToLower(strings.TrimSpace(email))})
	if err != nil {
		return fmt.Errorf("delete forwarding sender: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("forwarding sender: %w", ErrNotFound)
	}
	return nil
}

func (s *Scraper) dkim() *mailauth.Verifier {
	if s.DKIM != nil {
		return s.DKIM
	}
	return &mailauth.Verifier{}
}

// forwardOwner decides whose a message in the forwarding mailbox is: the
// tenant whose token its recipient address carries, and that tenant's
// confirmed sender the message is from. Anyone else's message is not ok;
// it is not authentic when the tenant requires DKIM and the sender's
// domain did not sign it.
func (s *Scraper) forwardOwner(ctx context.Context, inbox string, raw []byte) (owner, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return owner{}, nil
	}
	token := tenantToken(inbox, msg.Header)
	if token == "" {
		return owner{}, nil
	}
	addr, err := s.Links.q.ForwardingAddressByToken(ctx, token)
	if errors.Is(err, pgx.ErrNoRows) {
		return owner{}, nil
	}
	if err != nil {
		return owner{}, fmt.Errorf("look up forwarding address: %w", err)
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil {
		return owner{}, nil
	}
	snd, err := s.Links.q.ConfirmedForwardingSender(ctx, readmodel.ConfirmedForwardingSenderParams{Tenant: addr.Tenant,
		Email: strings.ToLower(from.Address)})
	if errors.Is(err, pgx.ErrNoRows) {
		return owner{}, nil
	}
	if err != nil {
		return owner{}, fmt.Errorf("look up forwarding sender: %w", err)
	}
	o := owner{tenant: addr.Tenant, user: domain.User{Email: snd.Email, Name: snd.UserName}, ok: true, authentic: true}
	if addr.RequireDkim {
		o.authentic = s.dkim().Verify(ctx, raw).DKIM == mailauth.Verified
	}
	return o, nil
}

// recipientHeaders are where the address a message was sent to may be
// found; the delivering server's own fields come first.
var recipientHeaders = []string{"Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc"}

// tenantToken finds the +token of a recipient at the inbox's address.
func tenantToken(inbox string, h mail.Header) string {
	at := strings.LastIndexByte(inbox, '@')
	if at < 0 {
		return ""
	}
	local, domainPart := strings.ToLower(inbox[:at]), strings.ToLower(inbox[at+1:])
	for _, name := range recipientHeaders {
		for _, v := range h[textproto.CanonicalMIMEHeaderKey(name)] {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				continue
			}
			for _, a := range list {
				addr := strings.ToLower(a.Address)
				i := strings.LastIndexByte(addr, '@')
				if i < 0 || addr[i+1:] != domainPart {
					continue
				}
				if tok, ok := strings.CutPrefix(addr[:i], local+"+"); ok && tok != "" {
					return tok
				}
			}
		}
	}
	return ""
}
