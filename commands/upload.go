package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"tally/domain"
	"tally/eventstore"
	"tally/intake"

	"github.com/google/uuid"
)

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
	info := &domain.EmailInfo{MessageID: msg.MessageID, Subject: msg.Subject, Part: domain.PartOf(msg.Subject),
		Auth: domain.EmailAuth{DKIM: "none"}}
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
	user, err := domain.NormalizeUser(cmd.User)
	if err != nil {
		return Result{}, err
	}
	docID := uuid.Must(uuid.NewV7()).String()
	if cmd.CommandID != "" {
		// The same command always names the same document, so a retry
		// lands on the same subject and finds its first result there.
		docID = uuid.NewSHA1(uploadNamespace, []byte(cmd.Tenant+"\x00"+cmd.CommandID)).String()
		if res, ok, err := h.docs.earlierResult(ctx, cmd.Tenant, docID, cmd.CommandID); err != nil || ok {
			if ok {
				// The first try may have stopped before its duplicate check.
				h.checkDuplicates(ctx, cmd.Meta, docID, nil)
			}
			return res, err
		}
	} else {
		cmd.CommandID = "upload:" + docID
	}
	if h.quota != nil {
		if err := h.quota(ctx, cmd.Tenant, int64(len(cmd.Content))); err != nil {
			return Result{}, err
		}
	}
	now := h.now().UTC()
	if cmd.email != nil && h.verifier != nil {
		cmd.email.Auth = h.verifier(ctx, cmd.Content)
	}
	key := fmt.Sprintf("%s/%s/%s%s", cmd.Tenant, now.Format("2006/01"), docID, extension(contentType))
	if err := h.blobs.Put(ctx, key, bytes.NewReader(cmd.Content), int64(len(cmd.Content)), contentType); err != nil {
		return Result{}, fmt.Errorf("upload doc %s: %w", docID, ErrBlobStore.Wrap(err))
	}
	payload := domain.DocumentUploaded{
		Source: cmd.Source, Filename: cleanFilename(cmd.Filename, contentType), ContentType: contentType,
		Size: int64(len(cmd.Content)), SHA256: sha256Hex(cmd.Content), BlobKey: key,
		UploadedAt: now, Attempt: 1, Email: cmd.email, Job: cmd.job,
	}
	// The user's key, read once, seals the user and the Private; the
	// event then holds neither in the clear.
	sealed, err := h.seal(ctx, cmd.Tenant, user, payload.Private())
	if err != nil {
		return Result{}, fmt.Errorf("upload doc %s: %w", docID, err)
	}
	payload.UserID, payload.UserSealed, payload.PrivateSealed = sealed.ID, sealed.Sealed, sealed.Private
	if sealed.Private != "" {
		payload = payload.WithPrivate(domain.Private{})
	}
	e, err := h.envelope(cmd.Meta, docID, domain.TypeDocumentUploaded, payload)
	if err != nil {
		return Result{}, err
	}
	seq, err := h.events.Append(ctx, e, 0)
	if errors.Is(err, eventstore.ErrConflict) {
		// A concurrent or earlier try of the same command got there first.
		res, ok, lerr := h.docs.earlierResult(ctx, cmd.Tenant, docID, cmd.CommandID)
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
	// it back. Its duplicate check (a second append, on the fingerprint)
	// runs after the answer, so an upload waits for one append only; the
	// duplicates consumer runs it again from the stream in any case.
	e.Sequence = seq
	if doc, err := domain.Fold([]domain.Envelope{e}); err == nil {
		h.later(ctx, func(ctx context.Context) { h.checkDuplicatesOf(ctx, cmd.Meta, doc, nil) })
	}
	return Result{DocumentID: docID, Status: domain.StatusPending, Attempt: 1, CreatedAt: now, BlobKey: key, Sequence: seq}, nil
}

// uploadNamespace scopes the name-based document ids of idempotent uploads.
var uploadNamespace = uuid.MustParse("6f1b2a6e-51c1-4e4e-9c55-3c0d5e0a7a11")

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
	case intake.XML:
		return ".xml"
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
