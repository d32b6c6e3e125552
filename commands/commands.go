package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"tally/blob"
	"tally/domain"
	"tally/eventstore"
	"tally/intake"
)

// Errors that callers (the HTTP layer, workers) branch on, each a
// domain.Error whose kind and message say how to answer it. Domain errors
// (domain.ErrNotFound, domain.ErrInvalidTransition, domain.ErrStaleAttempt)
// pass through wrapped.
var (
	// ErrInvalidInput: the command itself is wrong; retrying cannot help.
	ErrInvalidInput = domain.ErrInvalid
	// ErrBlobStore: the file could not be stored; nothing was recorded.
	ErrBlobStore = domain.NewError(domain.KindUpstream,
		"could not store the file: the blob store is unavailable; nothing was recorded, retry later")
	// ErrEventStore: the event could not be appended or read.
	ErrEventStore = domain.NewError(domain.KindUpstream,
		"could not record the document: the event store is unavailable; retry with the same Idempotency-Key")
)

// maxConflictRetries bounds re-reads when other writers keep moving the
// same document; each retry decides again on fresh state.
const maxConflictRetries = 10

// Handler runs Tally's commands: load the document, decide, append one
// event.
type Handler struct {
	events   *eventstore.Store
	blobs    blob.Store
	people   People
	log      *slog.Logger
	now      func() time.Time
	verifier EmailVerifier
}

// EmailVerifier judges an e-mail's sender at intake (DKIM). The verdict
// is recorded with the document, so it is taken once, not on every replay.
type EmailVerifier func(ctx context.Context, raw []byte) domain.EmailAuth

// Option configures a Handler beyond its required dependencies.
type Option func(*Handler)

// WithPeople gives the handler the user keys that uploads seal users with
// and erasures destroy (personal.Keys). Without it, uploads that name a
// user and EraseUser fail: a user is never written in the clear.
func WithPeople(p People) Option { return func(h *Handler) { h.people = p } }

// WithEmailVerifier makes the handler verify every e-mail it accepts.
// Without one, e-mails are recorded with the verdict "none".
func WithEmailVerifier(v EmailVerifier) Option { return func(h *Handler) { h.verifier = v } }

// New returns a command handler.
func New(events *eventstore.Store, blobs blob.Store, log *slog.Logger, opts ...Option) *Handler {
	h := &Handler{events: events, blobs: blobs, log: log, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Meta is what every command carries besides its own fields.
type Meta struct {
	Tenant string
	// CommandID makes the command idempotent: the same id, retried any
	// time later, yields the first result and appends nothing.
	CommandID string
	// CorrelationID ties together the log lines and events of one request.
	CorrelationID string
}

// Result says what a command did to a document.
type Result struct {
	DocumentID string
	Status     domain.Status
	Attempt    int
	CreatedAt  time.Time
	BlobKey    string
	// Sequence is the stream sequence of the event the command appended
	// (or had appended the first time).
	Sequence uint64
	// Replayed is true when the command had already run and this is its
	// earlier result.
	Replayed bool
}

// UploadInvoice is a file a user uploaded.
type UploadInvoice struct {
	Meta
	Source   string
	Filename string
	Content  []byte
	User     domain.User

	// Set by SubmitEmailReceipt.
	email *domain.EmailInfo
	job   *domain.EReceiptJob
}

// UploadInvoice stores the file, then appends DocumentUploaded, which is
// also the first extraction request. The blob goes first so that no event
// ever points at a missing file; a blob without an event (a crash between
// the two) is harmless and can be swept.
func (h *Handler) UploadInvoice(ctx context.Context, cmd UploadInvoice) (Result, error) {
	contentType, err := intake.Document(cmd.Content)
	if err != nil {
		return Result{}, domain.Invalid("%w", err)
	}
	return h.upload(ctx, cmd, contentType)
}

// SubmitEmailReceipt is a raw RFC 5322 e-receipt. The user is the e-mail's
// first To: address unless User.Email names one.
type SubmitEmailReceipt struct {
	Meta
	Raw  []byte
	User domain.User
	// Job makes the e-mail an e-receipt API job (source "ereceipt").
	Job *domain.EReceiptJob
}

// SubmitEmailReceipt stores an e-receipt and requests its extraction,
// exactly like an upload.
func (h *Handler) SubmitEmailReceipt(ctx context.Context, cmd SubmitEmailReceipt) (Result, error) {
	msg, err := intake.EmailMessage(cmd.Raw)
	if err != nil {
		return Result{}, domain.Invalid("%w", err)
	}
	user := cmd.User
	if user.Email == "" && msg.To != nil {
		user = domain.User{Name: firstNonEmpty(user.Name, msg.To.Name), Email: msg.To.Address}
	}
	if user.Email == "" {
		return Result{}, domain.Invalid("the e-mail has no To: address; name the user with the email parameter")
	}
	info := &domain.EmailInfo{MessageID: msg.MessageID, Subject: msg.Subject, Auth: domain.EmailAuth{DKIM: "none"}}
	if msg.From != nil {
		info.From = strings.ToLower(msg.From.Address)
	}
	if !msg.Date.IsZero() {
		info.Date = &msg.Date
	}
	source := domain.SourceEmail
	if cmd.Job != nil {
		source = domain.SourceEReceipt
	}
	return h.upload(ctx, UploadInvoice{
		Meta: cmd.Meta, Source: source, Filename: "receipt.eml", Content: cmd.Raw, User: user,
		email: info, job: cmd.Job,
	}, intake.Email)
}

func (h *Handler) upload(ctx context.Context, cmd UploadInvoice, contentType string) (Result, error) {
	if err := validateMeta(cmd.Meta); err != nil {
		return Result{}, err
	}
	user, err := validateUser(cmd.User)
	if err != nil {
		return Result{}, err
	}
	docID := uuid.Must(uuid.NewV7()).String()
	if cmd.CommandID != "" {
		// The same command always names the same document, so a retry
		// lands on the same subject and finds its first result there.
		docID = uuid.NewSHA1(uploadNamespace, []byte(cmd.Tenant+"\x00"+cmd.CommandID)).String()
		if res, ok, err := h.earlierResult(ctx, cmd.Tenant, docID, cmd.CommandID); err != nil || ok {
			if ok {
				// The first try may have stopped before its duplicate check.
				h.checkDuplicates(ctx, cmd.Meta, docID, nil)
			}
			return res, err
		}
	} else {
		cmd.CommandID = "upload:" + docID
	}
	now := h.now().UTC()
	if cmd.email != nil && h.verifier != nil {
		cmd.email.Auth = h.verifier(ctx, cmd.Content)
	}
	key := fmt.Sprintf("%s/%s/%s%s", cmd.Tenant, now.Format("2006/01"), docID, extension(contentType))
	if err := h.blobs.Put(ctx, key, bytes.NewReader(cmd.Content), int64(len(cmd.Content)), contentType); err != nil {
		return Result{}, fmt.Errorf("upload doc %s: %w", docID, ErrBlobStore.Wrap(err))
	}
	sealed, err := h.seal(ctx, cmd.Tenant, user)
	if err != nil {
		return Result{}, fmt.Errorf("upload doc %s: %w", docID, err)
	}
	payload := domain.DocumentUploaded{
		Source: cmd.Source, Filename: cleanFilename(cmd.Filename, contentType), ContentType: contentType,
		Size: int64(len(cmd.Content)), SHA256: sha256Hex(cmd.Content), BlobKey: key,
		UserID: sealed.ID, UserSealed: sealed.Sealed, UploadedAt: now, Attempt: 1, Email: cmd.email, Job: cmd.job,
	}
	e, err := h.envelope(cmd.Meta, docID, domain.TypeDocumentUploaded, payload)
	if err != nil {
		return Result{}, err
	}
	seq, err := h.events.Append(ctx, e, 0)
	if errors.Is(err, eventstore.ErrConflict) {
		// A concurrent or earlier try of the same command got there first.
		res, ok, lerr := h.earlierResult(ctx, cmd.Tenant, docID, cmd.CommandID)
		if lerr != nil || ok {
			return res, lerr
		}
		return Result{}, domain.ErrAlreadyExists.Detailf("upload doc %s", docID)
	}
	if err != nil {
		return Result{}, fmt.Errorf("upload doc %s: %w", docID, ErrEventStore.Wrap(err))
	}
	h.log.InfoContext(ctx, "document uploaded", "doc_id", docID, "tenant", cmd.Tenant, "correlation_id", cmd.CorrelationID,
		"content_type", contentType, "size", len(cmd.Content), "seq", seq)
	// The new document is exactly its one event: fold it rather than read
	// it back.
	e.Sequence = seq
	if doc, err := domain.Fold([]domain.Envelope{e}); err == nil {
		h.checkDuplicatesOf(ctx, cmd.Meta, doc, nil)
	}
	return Result{DocumentID: docID, Status: domain.StatusPending, Attempt: 1, CreatedAt: now, BlobKey: key, Sequence: seq}, nil
}

// earlierResult looks for the outcome of commandID in the document's
// history.
func (h *Handler) earlierResult(ctx context.Context, tenant, docID, commandID string) (Result, bool, error) {
	doc, err := h.load(ctx, tenant, docID)
	if err != nil {
		return Result{}, false, err
	}
	e, ok := doc.EventOf(commandID)
	if !ok {
		return Result{}, false, nil
	}
	return Result{DocumentID: docID, Status: doc.Status, Attempt: doc.Attempt, CreatedAt: doc.UploadedAt,
		BlobKey: doc.BlobKey, Sequence: e.Sequence, Replayed: true}, true, nil
}

// History returns a document's events in order; an unknown document (or
// another tenant's) is ErrNotFound.
func (h *Handler) History(ctx context.Context, tenant, docID string) ([]domain.Envelope, error) {
	history, err := h.events.Load(ctx, tenant, docID)
	if err != nil {
		return nil, ErrEventStore.Wrap(err)
	}
	if len(history) == 0 {
		return nil, fmt.Errorf("history of doc %s: %w", docID, domain.ErrNotFound)
	}
	return history, nil
}

// Load returns a document folded from its events.
func (h *Handler) Load(ctx context.Context, tenant, docID string) (*domain.Document, error) {
	doc, err := h.load(ctx, tenant, docID)
	if err != nil {
		return nil, err
	}
	if !doc.Exists() {
		return nil, fmt.Errorf("load doc %s: %w", docID, domain.ErrNotFound)
	}
	return doc, nil
}

func (h *Handler) load(ctx context.Context, tenant, docID string) (*domain.Document, error) {
	history, err := h.events.Load(ctx, tenant, docID)
	if err != nil {
		return nil, ErrEventStore.Wrap(err)
	}
	return domain.Fold(history)
}

// RequestReprocess asks for a new extraction of a finished document.
type RequestReprocess struct {
	Meta
	DocumentID string
	Reason     string
}

// RequestReprocess appends ExtractionRequested with the next attempt.
func (h *Handler) RequestReprocess(ctx context.Context, cmd RequestReprocess) (Result, error) {
	reason := firstNonEmpty(cmd.Reason, domain.ReasonReprocess)
	return h.decide(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (string, any, error) {
		p, err := d.DecideReprocess(domain.Truncate(reason))
		return domain.TypeExtractionRequested, p, err
	})
}

// StartExtraction is a worker taking an attempt.
type StartExtraction struct {
	Meta
	DocumentID string
	Attempt    int
	Worker     string
}

// StartExtraction appends ExtractionStarted once per attempt; a redelivered
// job finds the attempt started and appends nothing.
func (h *Handler) StartExtraction(ctx context.Context, cmd StartExtraction) (Result, error) {
	if cmd.CommandID == "" {
		cmd.CommandID = fmt.Sprintf("start:%d", cmd.Attempt)
	}
	return h.decide(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (string, any, error) {
		p, err := d.DecideStart(cmd.Attempt, cmd.Worker)
		if p == nil {
			return "", nil, err
		}
		return domain.TypeExtractionStarted, p, err
	})
}

// RecordExtraction is a worker's result for an attempt.
type RecordExtraction struct {
	Meta
	DocumentID string
	Attempt    int
	Fields     domain.Fields
}

// RecordExtraction appends ReceiptExtracted. One result per attempt: a
// second report of the same attempt is answered with the first.
func (h *Handler) RecordExtraction(ctx context.Context, cmd RecordExtraction) (Result, error) {
	if err := ValidateFields(cmd.Fields); err != nil {
		return Result{}, err
	}
	if cmd.CommandID == "" {
		cmd.CommandID = fmt.Sprintf("result:%d", cmd.Attempt)
	}
	doc, err := h.load(ctx, cmd.Tenant, cmd.DocumentID)
	if err != nil {
		return Result{}, err
	}
	// A later e-mail of an order learns so before its result is stored,
	// so that whoever reads the result can already tell it is a part.
	order, part, err := h.claimOrder(ctx, doc, cmd.Attempt, cmd.Fields)
	if err != nil {
		h.log.WarnContext(ctx, "order claim failed; the duplicates consumer will retry", "doc_id", cmd.DocumentID, "err", err)
	}
	res, err := h.decide(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (string, any, error) {
		if err := d.DecideResult(cmd.Attempt); err != nil {
			return "", nil, err
		}
		eventType, payload := d.ResultEvent(cmd.Attempt, cmd.Fields)
		return eventType, payload, nil
	})
	if err == nil {
		if err := h.afterResult(ctx, cmd.Meta, doc, cmd.Fields, order, part); err != nil {
			h.log.WarnContext(ctx, "duplicate check failed; the duplicates consumer will retry", "doc_id", cmd.DocumentID, "err", err)
		}
	}
	return res, err
}

// FailExtraction ends an attempt without a result.
type FailExtraction struct {
	Meta
	DocumentID string
	Attempt    int
	Reason     string
}

// FailExtraction appends ExtractionFailed, under the same command id as a
// result would have, so an attempt ends once.
func (h *Handler) FailExtraction(ctx context.Context, cmd FailExtraction) (Result, error) {
	if cmd.CommandID == "" {
		cmd.CommandID = fmt.Sprintf("result:%d", cmd.Attempt)
	}
	reason := domain.Truncate(firstNonEmpty(cmd.Reason, "extraction failed"))
	return h.decide(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (string, any, error) {
		return domain.TypeExtractionFailed, domain.ExtractionFailed{Attempt: cmd.Attempt, Reason: reason}, d.DecideResult(cmd.Attempt)
	})
}

// RetryExtraction ends an attempt that failed for a reason that may pass
// and asks for the next one after a backoff.
type RetryExtraction struct {
	Meta
	DocumentID string
	Attempt    int
	LastError  string
	NotBefore  time.Time
}

// RetryExtraction appends ExtractionRequested for attempt+1, under the
// attempt's result command id: an attempt ends once, by a result, a
// failure or a retry.
func (h *Handler) RetryExtraction(ctx context.Context, cmd RetryExtraction) (Result, error) {
	if cmd.CommandID == "" {
		cmd.CommandID = fmt.Sprintf("result:%d", cmd.Attempt)
	}
	return h.decide(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (string, any, error) {
		p, err := d.DecideRetry(cmd.Attempt, cmd.LastError, cmd.NotBefore)
		return domain.TypeExtractionRequested, p, err
	})
}

// CorrectDocument is a user fixing extracted fields.
type CorrectDocument struct {
	Meta
	DocumentID string
	Fields     domain.Fields
}

// CorrectDocument appends DocumentCorrected; the user's values then win
// over every extraction result, later reprocessing included.
func (h *Handler) CorrectDocument(ctx context.Context, cmd CorrectDocument) (Result, error) {
	if cmd.Fields.IsZero() {
		return Result{}, domain.Invalid("no field to correct")
	}
	if err := ValidateFields(cmd.Fields); err != nil {
		return Result{}, err
	}
	return h.decide(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (string, any, error) {
		p, err := d.DecideCorrect(cmd.Fields)
		if p == nil {
			return "", nil, err
		}
		return domain.TypeDocumentCorrected, p, err
	})
}

// DeleteDocument takes a document out of lists and totals; its file goes
// after Grace.
type DeleteDocument struct {
	Meta
	DocumentID string
	Reason     string
	Grace      time.Duration
}

// DeleteDocument appends DocumentDeleted; deleting twice is a no-op.
func (h *Handler) DeleteDocument(ctx context.Context, cmd DeleteDocument) (Result, error) {
	purgeAfter := h.now().Add(cmd.Grace)
	return h.decide(ctx, cmd.Meta, cmd.DocumentID, func(d *domain.Document) (string, any, error) {
		p, err := d.DecideDelete(cmd.Reason, purgeAfter)
		if p == nil {
			return "", nil, err
		}
		return domain.TypeDocumentDeleted, p, err
	})
}

// RestoreDocument brings back a deleted document within its grace period.
func (h *Handler) RestoreDocument(ctx context.Context, meta Meta, docID string) (Result, error) {
	now := h.now()
	return h.decide(ctx, meta, docID, func(d *domain.Document) (string, any, error) {
		p, err := d.DecideRestore(now)
		if p == nil {
			return "", nil, err
		}
		return domain.TypeDocumentRestored, p, err
	})
}

// PurgeDocument deletes a deleted document's file once its grace period
// is over, then records it. The file goes first: a crash in between leaves
// a purge to record again, never a record of a file that still exists.
func (h *Handler) PurgeDocument(ctx context.Context, meta Meta, docID string) (Result, error) {
	now := h.now()
	return h.decide(ctx, meta, docID, func(d *domain.Document) (string, any, error) {
		p, err := d.DecidePurge(now)
		if p == nil || err != nil {
			return "", nil, err
		}
		if err := h.blobs.Delete(ctx, p.BlobKey); err != nil {
			return "", nil, fmt.Errorf("purge doc %s: %w", docID, ErrBlobStore.Wrap(err))
		}
		return domain.TypeDocumentPurged, p, nil
	})
}

// RecordNotification appends NotificationSent or NotificationFailed for
// one source event of a document, once: the command id is derived from
// the source event.
func (h *Handler) RecordNotification(ctx context.Context, meta Meta, docID string, payload any) (Result, error) {
	var source, eventType string
	switch p := payload.(type) {
	case domain.NotificationSent:
		source, eventType = p.SourceEventID, domain.TypeNotificationSent
	case domain.NotificationFailed:
		source, eventType = p.SourceEventID, domain.TypeNotificationFailed
	default:
		return Result{}, domain.Invalid("%T is not a notification", payload)
	}
	meta.CommandID = NotificationCommandID(source)
	return h.decide(ctx, meta, docID, func(*domain.Document) (string, any, error) {
		return eventType, payload, nil
	})
}

// NotificationCommandID names the command that records the e-mail about
// a source event; a notifier checks for it before sending.
func NotificationCommandID(sourceEventID string) string { return "notify:" + sourceEventID }

// ReportSent reports whether a report aggregate has its event already.
func (h *Handler) ReportSent(ctx context.Context, tenant, reportID string) (bool, error) {
	history, err := h.events.LoadAggregate(ctx, tenant, domain.AggregateReport, reportID)
	if err != nil {
		return false, ErrEventStore.Wrap(err)
	}
	return len(history) > 0, nil
}

// RecordMonthlyReport appends MonthlyReportSent to a new report
// aggregate. A report already recorded is not an error: Replayed says so.
func (h *Handler) RecordMonthlyReport(ctx context.Context, meta Meta, reportID string, p domain.MonthlyReportSent) (Result, error) {
	if err := validateMeta(meta); err != nil {
		return Result{}, err
	}
	e, err := h.envelope(meta, reportID, domain.TypeMonthlyReportSent, p)
	if err != nil {
		return Result{}, err
	}
	e.AggregateType = domain.AggregateReport
	seq, err := h.events.Append(ctx, e, 0)
	if errors.Is(err, eventstore.ErrConflict) {
		return Result{DocumentID: reportID, Replayed: true}, nil
	}
	if err != nil {
		return Result{}, ErrEventStore.Wrap(err)
	}
	return Result{DocumentID: reportID, Sequence: seq}, nil
}

// decide is the load–decide–append loop shared by commands on existing
// documents. decide returns an empty event type for "nothing to do".
func (h *Handler) decide(ctx context.Context, meta Meta, docID string, decide func(*domain.Document) (string, any, error)) (Result, error) {
	if err := validateMeta(meta); err != nil {
		return Result{}, err
	}
	if _, err := uuid.Parse(docID); err != nil {
		return Result{}, domain.Invalid("document id %q is not a UUID", docID)
	}
	for try := 0; ; try++ {
		doc, err := h.load(ctx, meta.Tenant, docID)
		if err != nil {
			return Result{}, err
		}
		if !doc.Exists() {
			return Result{}, fmt.Errorf("doc %s: %w", docID, domain.ErrNotFound)
		}
		if e, ok := doc.EventOf(meta.CommandID); ok {
			return resultOf(doc, e.Sequence, true), nil
		}
		eventType, payload, err := decide(doc)
		if err != nil {
			return Result{}, err
		}
		if eventType == "" {
			return resultOf(doc, doc.Version, true), nil
		}
		e, err := h.envelope(meta, docID, eventType, payload)
		if err != nil {
			return Result{}, err
		}
		seq, err := h.events.Append(ctx, e, doc.Version)
		if errors.Is(err, eventstore.ErrConflict) && try < maxConflictRetries {
			h.log.DebugContext(ctx, "conflict, deciding again", "doc_id", docID, "event", eventType, "try", try+1)
			select {
			case <-ctx.Done():
				return Result{}, ctx.Err()
			case <-time.After(time.Duration(rand.IntN(5*(try+1))) * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return Result{}, ErrEventStore.Wrap(err)
		}
		e.Sequence = seq
		if err := doc.Apply(e); err != nil {
			return Result{}, err
		}
		h.log.InfoContext(ctx, "event appended", "doc_id", docID, "event", eventType, "seq", seq, "correlation_id", meta.CorrelationID)
		return resultOf(doc, seq, false), nil
	}
}

func resultOf(d *domain.Document, seq uint64, replayed bool) Result {
	return Result{DocumentID: d.ID, Status: d.Status, Attempt: d.Attempt, CreatedAt: d.UploadedAt,
		BlobKey: d.BlobKey, Sequence: seq, Replayed: replayed}
}

func (h *Handler) envelope(meta Meta, docID, eventType string, payload any) (domain.Envelope, error) {
	e, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), meta.Tenant, docID, eventType, h.now(), payload)
	if err != nil {
		return e, err
	}
	e.CommandID = meta.CommandID
	e.CorrelationID = meta.CorrelationID
	e.CausationID = meta.CommandID
	return e, nil
}

// uploadNamespace scopes the name-based document ids of idempotent uploads.
var uploadNamespace = uuid.MustParse("6f1b2a6e-51c1-4e4e-9c55-3c0d5e0a7a11")

var (
	tenantPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	amountPattern   = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,6})?$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// reservedTenant holds the deployment's own events (template activations).
const reservedTenant = "system"

// ValidTenant reports whether a tenant name can sit in a stream subject and
// is not the deployment's own.
func ValidTenant(t string) bool { return tenantPattern.MatchString(t) && t != reservedTenant }

func validateMeta(m Meta) error {
	if !ValidTenant(m.Tenant) {
		return domain.Invalid("tenant %q must be 1-63 lower-case letters, digits, '-' or '_'", m.Tenant)
	}
	if len(m.CommandID) > 200 {
		return domain.Invalid("command id longer than 200 characters")
	}
	return nil
}

func validateUser(u domain.User) (domain.User, error) {
	u.Email = strings.TrimSpace(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	if u.Email == "" {
		// Allowed: the InvoiceFlow ingest route names no user. Such a
		// document gets no e-mail and counts under no one's totals.
		return u, nil
	}
	if err := ValidateEmail(u.Email); err != nil {
		return u, err
	}
	if len(u.Name) > 200 {
		return u, domain.Invalid("name longer than 200 characters")
	}
	u.Email = strings.ToLower(u.Email)
	return u, nil
}

// ValidateEmail checks a bare address such as ann@example.com.
func ValidateEmail(email string) error {
	at := strings.LastIndexByte(email, '@')
	if len(email) > 254 || at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>,;\"") {
		return domain.Invalid("%q is not an e-mail address", email)
	}
	return nil
}

// ValidateFields checks what a worker reports: decimal strings for
// amounts, ISO dates, ISO 4217 currency codes.
func ValidateFields(f domain.Fields) error {
	var errs []error
	for name, v := range map[string]string{"subtotal": f.Subtotal, "tax": f.Tax, "total": f.Total} {
		if v != "" && !amountPattern.MatchString(v) {
			errs = append(errs, fmt.Errorf("%s %q is not a decimal amount", name, v))
		}
	}
	for name, v := range map[string]string{"date": f.Date, "due_date": f.DueDate} {
		if _, err := time.Parse("2006-01-02", v); v != "" && err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not an ISO date (YYYY-MM-DD)", name, v))
		}
	}
	if f.Currency != "" && !currencyPattern.MatchString(f.Currency) {
		errs = append(errs, fmt.Errorf("currency %q is not an ISO 4217 code", f.Currency))
	}
	if len(errs) > 0 {
		return domain.Invalid("%w", errors.Join(errs...))
	}
	return nil
}

func extension(contentType string) string {
	switch contentType {
	case intake.PDF:
		return ".pdf"
	case intake.PNG:
		return ".png"
	case intake.JPEG:
		return ".jpg"
	case intake.Email:
		return ".eml"
	}
	return ""
}

// cleanFilename keeps the base name a user gave, for display only.
func cleanFilename(name, contentType string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if len(name) > 255 {
		name = name[:255]
	}
	if name == "" {
		return "document" + extension(contentType)
	}
	return name
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
