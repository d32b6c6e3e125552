// Package notify tells users by e-mail: one e-mail per extraction result or
// failure, and on the 1st of every month a report of last month's
// expenses.
//
// Invariants: every e-mail is recorded as an event keyed by what it is
// about (the source event, or the user and month), checked before sending,
// so a replay, a rebuilt projection or a second run never sends again. A
// crash between sending and recording resends once, with the same
// Message-ID, so the receiving side can recognise the duplicate.
package notify

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/mail"
	"tally/personal"
	"tally/readmodel"
	"tally/supervise"
)

//go:embed templates/*.tmpl
var defaultTemplates embed.FS

// DefaultTemplates are the built-in templates; an operator's directory of
// files with the same names replaces them one by one.
func DefaultTemplates() fs.FS {
	sub, err := fs.Sub(defaultTemplates, "templates")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// DurableName is the notifier's consumer on the stream.
const DurableName = "notifier"

// Sender delivers e-mails; mail.Sender satisfies it.
type Sender interface {
	Send(ctx context.Context, m mail.Message) error
	MessageIDDomain() string
}

// Notifier sends one e-mail per ReceiptExtracted and ExtractionFailed.
type Notifier struct {
	Events   *eventstore.Store
	Commands *commands.Handler
	Queries  *readmodel.Queries
	// Personal opens the document's user; an erased user gets no e-mail.
	Personal  *personal.Keys
	Sender    Sender
	Templates *mail.Templates
	Links     *Links
	Log       *slog.Logger
	// Retries is how often a temporary SMTP failure is retried in place
	// before the event is handed back to the stream for later.
	Retries int
	// RequireConfirmation sends e-mails only to addresses whose owner
	// confirmed them (consent.go); NOTIFY_REQUIRE_CONFIRMATION.
	RequireConfirmation bool

	// afterSend runs between sending and recording; tests crash there.
	afterSend func()
}

// Run sends until ctx ends, resubscribing after errors.
func (n *Notifier) Run(ctx context.Context) error {
	d, err := n.Events.Durable(ctx, DurableName, 2*time.Minute)
	if err != nil {
		return err
	}
	handle := func(ctx context.Context, del eventstore.Delivery) {
		if err := n.Handle(ctx, del.Event); err != nil {
			n.Log.Warn("notification postponed", "doc_id", del.Event.AggregateID, "event", del.Event.Type, "err", err)
			_ = del.Retry(30 * time.Second)
			return
		}
		_ = del.Ack(ctx)
	}
	supervise.Forever{
		Backoff: supervise.Backoff{First: time.Second, Max: time.Second},
		Stopped: func(err error, _ time.Duration) {
			n.Log.Warn("notifier subscription ended, resubscribing", "err", err)
		},
	}.Run(ctx, func(ctx context.Context) error { return d.Run(ctx, handle) })
	return nil
}

// Handle sends the e-mail an event calls for, if it was not sent before.
// An error means "try again later"; permanent refusals are recorded and
// return nil.
func (n *Notifier) Handle(ctx context.Context, e domain.Envelope) error {
	var kind string
	switch e.Type {
	case domain.TypeReceiptExtracted:
		kind = domain.NotifyExtracted
	case domain.TypeExtractionFailed:
		kind = domain.NotifyFailed
	default:
		return nil
	}
	doc, err := n.Commands.Documents().Load(ctx, e.Tenant, e.AggregateID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, done := doc.EventOf(commands.NotificationCommandID(e.ID)); done {
		return nil
	}
	log := n.Log.With("doc_id", doc.ID, "event_id", e.ID, "kind", kind, "correlation_id", e.CorrelationID)
	if !doc.Owner.Named() {
		return nil
	}
	owner, err := n.Personal.Open(ctx, e.Tenant, doc.Owner)
	if err != nil {
		return fmt.Errorf("open user: %w", err)
	}
	if owner.Erased || owner.User.Email == "" {
		log.Info("e-mail not sent: the user was erased")
		return nil
	}
	user := owner.User
	if ok, err := n.mayEmail(ctx, log, e.Tenant, user); !ok || err != nil {
		return err
	}
	msg, err := n.compose(ctx, e, doc, user, kind)
	if err != nil {
		return err
	}
	meta := commands.Meta{Tenant: e.Tenant, CorrelationID: e.CorrelationID}
	err = sendWithRetries(ctx, n.Sender, msg, n.Retries)
	if errors.Is(err, mail.ErrPermanent) {
		log.Warn("e-mail refused for good", "err", err)
		_, rerr := n.Commands.RecordNotification(ctx, meta, doc.ID, domain.NotificationFailed{
			SourceEventID: e.ID, Kind: kind, Reason: domain.Truncate(err.Error())})
		return rerr
	}
	if err != nil {
		return err
	}
	if n.afterSend != nil {
		n.afterSend()
	}
	if _, err := n.Commands.RecordNotification(ctx, meta, doc.ID, domain.NotificationSent{
		SourceEventID: e.ID, Kind: kind, MessageID: msg.MessageID}); err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	log.Info("e-mail sent", "message_id", msg.MessageID)
	return nil
}

// emailData is what the per-document templates see.
type emailData struct {
	Name           string
	Filename       string
	DocumentID     string
	DocumentURL    string
	UnsubscribeURL string
	Fields         domain.Fields
	Reason         string
}

func (n *Notifier) compose(ctx context.Context, e domain.Envelope, doc *domain.Document, user domain.User, kind string) (mail.Message, error) {
	data := emailData{Name: user.Name, Filename: doc.Filename, DocumentID: doc.ID,
		DocumentURL: n.Links.Document(doc.ID)}
	unsubscribe, err := n.Links.Unsubscribe(ctx, e.Tenant, user.Email)
	if err != nil {
		return mail.Message{}, err
	}
	data.UnsubscribeURL = unsubscribe
	template := "receipt_extracted"
	if kind == domain.NotifyFailed {
		template = "extraction_failed"
		var p domain.ExtractionFailed
		if err := e.Decode(&p); err != nil {
			return mail.Message{}, err
		}
		data.Reason = p.Reason
	} else {
		var p domain.ReceiptExtracted
		if err := e.Decode(&p); err != nil {
			return mail.Message{}, err
		}
		data.Fields = p.Fields
	}
	subject, text, html, err := n.Templates.Render(template, data)
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{
		To: formatAddress(user), Subject: subject, Text: text, HTML: html,
		// Derived from the event: a resend after a crash carries the same
		// Message-ID and is recognisable as the same e-mail.
		MessageID: "event-" + e.ID + "@" + n.Sender.MessageIDDomain(),
		Headers:   unsubscribeHeaders(unsubscribe),
	}, nil
}

func formatAddress(u domain.User) string {
	if u.Name == "" {
		return u.Email
	}
	return fmt.Sprintf("%q <%s>", u.Name, u.Email)
}

func unsubscribeHeaders(url string) map[string]string {
	return map[string]string{
		"List-Unsubscribe":      "<" + url + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
}

// sendWithRetries retries temporary failures with exponential backoff and
// jitter; a permanent failure or the last temporary one is returned.
func sendWithRetries(ctx context.Context, s Sender, m mail.Message, retries int) error {
	b := supervise.Backoff{First: 500 * time.Millisecond, Max: 30 * time.Second}
	for try := 0; ; try++ {
		err := s.Send(ctx, m)
		if err == nil || errors.Is(err, mail.ErrPermanent) || try >= retries {
			return err
		}
		if !supervise.Sleep(ctx, b.Next(try+1)) {
			return ctx.Err()
		}
	}
}

// normaliseEmail is how addresses are compared and stored.
func normaliseEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
