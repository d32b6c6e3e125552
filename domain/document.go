package domain

import (
	"reflect"
	"time"

	"golang.org/x/net/publicsuffix"
)

// Status is where a document stands in its lifecycle:
// PENDING → PROCESSING → COMPLETED or FAILED, and back to PENDING when a new
// extraction is requested.
type Status string

const (
	StatusPending    Status = "PENDING"
	StatusProcessing Status = "PROCESSING"
	StatusCompleted  Status = "COMPLETED"
	StatusFailed     Status = "FAILED"
)

// Errors that callers branch on.
var (
	// ErrNotFound: the aggregate has no events.
	ErrNotFound = NewError(KindNotFound, "document not found")
	// ErrAlreadyExists: an upload tried to create an aggregate that exists
	// under a different command.
	ErrAlreadyExists = NewError(KindConflict, "document already exists")
	// ErrStaleAttempt: a worker reports on an attempt that a newer request
	// has replaced; its result must not overwrite the newer one.
	ErrStaleAttempt = NewError(KindConflict, "stale extraction attempt")
	// ErrInvalidTransition: the command does not fit the document's state.
	ErrInvalidTransition = NewError(KindConflict, "invalid state transition")
	// ErrUserNotFound: no user has the address in the tenant.
	ErrUserNotFound = NewError(KindNotFound, "user not found")
	// ErrUserErased: the user's key is gone, so nothing more can be
	// sealed for them.
	ErrUserErased = NewError(KindNotFound, "the user is erased")
)

// Document is the aggregate folded from a document's events. It is rebuilt
// from the stream for every command; nothing else stores it.
type Document struct {
	ID          string
	Tenant      string
	Status      Status
	Source      string
	Filename    string
	ContentType string
	Size        int64
	SHA256      string
	BlobKey     string
	// Owner is the user, sealed as the upload event carries them.
	Owner      SealedUser
	UploadedAt time.Time
	UpdatedAt  time.Time
	// Attempt is the extraction attempt currently asked for.
	Attempt int
	// Fields are the effective values: the machine's, with the user's
	// corrections over them. Machine and Corrections keep both.
	Fields      *Fields
	Machine     *Fields
	Corrections *Fields
	// Deleted documents stay in the history; PurgeAfter is when their file
	// goes, Purged once it has.
	Deleted    bool
	PurgeAfter time.Time
	Purged     bool
	// FailureReason is set while Status is FAILED.
	FailureReason string
	// UploadSequence is the stream sequence of DocumentUploaded, which is
	// also an e-receipt job's number.
	UploadSequence uint64
	// Email and Job are set for e-mails and e-receipt API jobs.
	Email *EmailInfo
	Job   *EReceiptJob
	// Parts are the later e-mails of an aggregated order, oldest first.
	Parts []OrderPartAdded
	// DuplicateOf names the earlier document this one copies.
	DuplicateOf     string
	DuplicateReason string
	// Version is the stream sequence of the last event applied, the value a
	// command passes as the expected last subject sequence.
	Version uint64
	// commands remembers which command produced which event, so that a
	// retried command finds its earlier result.
	commands map[string]Envelope
}

// Exists reports whether any event has been applied.
func (d *Document) Exists() bool { return d.Version != 0 }

// EventOf returns the event a command id produced, if any.
func (d *Document) EventOf(commandID string) (Envelope, bool) {
	if commandID == "" {
		return Envelope{}, false
	}
	e, ok := d.commands[commandID]
	return e, ok
}

// Fold rebuilds a document from its history in stream order.
func Fold(events []Envelope) (*Document, error) {
	d := &Document{}
	for _, e := range events {
		if err := d.Apply(e); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// statusAfter is the status each event moves a document to, for events
// of the document's current attempt (commands append no other).
var statusAfter = map[string]Status{
	TypeDocumentUploaded:    StatusPending,
	TypeExtractionRequested: StatusPending,
	TypeExtractionStarted:   StatusProcessing,
	TypeReceiptExtracted:    StatusCompleted,
	TypeExtractionRevised:   StatusCompleted,
	TypeExtractionFailed:    StatusFailed,
}

// StatusAfter is the status an event of type t moves its document to;
// ok is false for events that leave the status alone. The aggregate and
// every read model take a document's status from here.
func StatusAfter(t string) (s Status, ok bool) {
	s, ok = statusAfter[t]
	return s, ok
}

// Apply moves the document by one event. Unknown event types are skipped so
// that an older build can still read a stream written by a newer one.
func (d *Document) Apply(e Envelope) error {
	if d.commands == nil {
		d.commands = map[string]Envelope{}
	}
	switch e.Type {
	case TypeDocumentUploaded:
		var p DocumentUploaded
		if err := e.Decode(&p); err != nil {
			return err
		}
		d.ID, d.Tenant = e.AggregateID, e.Tenant
		d.Status, _ = StatusAfter(e.Type)
		d.Source, d.Filename, d.ContentType = p.Source, p.Filename, p.ContentType
		d.Size, d.SHA256, d.BlobKey, d.Owner = p.Size, p.SHA256, p.BlobKey, p.Owner()
		d.UploadedAt = p.UploadedAt
		d.Attempt = max(p.Attempt, 1)
		d.Email, d.Job = p.Email, p.Job
		d.UploadSequence = e.Sequence
	case TypeExtractionRequested:
		var p ExtractionRequested
		if err := e.Decode(&p); err != nil {
			return err
		}
		d.Status, _ = StatusAfter(e.Type)
		d.Attempt, d.FailureReason = p.Attempt, ""
	case TypeExtractionStarted:
		var p ExtractionStarted
		if err := e.Decode(&p); err != nil {
			return err
		}
		if p.Attempt == d.Attempt {
			d.Status, _ = StatusAfter(e.Type)
		}
	case TypeReceiptExtracted, TypeExtractionRevised:
		// A revision carries the same attempt and fields as a result.
		var p ReceiptExtracted
		if err := e.Decode(&p); err != nil {
			return err
		}
		if p.Attempt == d.Attempt {
			f := p.Fields
			d.Status, _ = StatusAfter(e.Type)
			d.Machine, d.FailureReason = &f, ""
			d.effective()
		}
	case TypeExtractionFailed:
		var p ExtractionFailed
		if err := e.Decode(&p); err != nil {
			return err
		}
		if p.Attempt == d.Attempt {
			d.Status, _ = StatusAfter(e.Type)
			d.FailureReason = p.Reason
		}
	case TypeDocumentCorrected:
		var p DocumentCorrected
		if err := e.Decode(&p); err != nil {
			return err
		}
		c := p.Corrections
		d.Corrections = &c
		d.effective()
	case TypeDocumentDeleted:
		var p DocumentDeleted
		if err := e.Decode(&p); err != nil {
			return err
		}
		d.Deleted, d.PurgeAfter = true, p.PurgeAfter
	case TypeDocumentRestored:
		d.Deleted, d.PurgeAfter = false, time.Time{}
	case TypeDocumentPurged:
		d.Purged = true
	case TypeOrderPartAdded:
		var p OrderPartAdded
		if err := e.Decode(&p); err != nil {
			return err
		}
		d.Parts = append(d.Parts, p)
	case TypeDuplicateDetected:
		var p DuplicateDetected
		if err := e.Decode(&p); err != nil {
			return err
		}
		d.DuplicateOf, d.DuplicateReason = p.Of, p.Reason
	}
	d.UpdatedAt = e.OccurredAt
	d.Version = e.Sequence
	if e.CommandID != "" {
		d.commands[e.CommandID] = e
	}
	return nil
}

// effective recomputes Fields from the machine's and the user's values.
func (d *Document) effective() {
	var f Fields
	if d.Machine != nil {
		f = *d.Machine
	}
	if d.Corrections != nil {
		f = Merge(f, *d.Corrections)
	}
	if d.Machine == nil && d.Corrections == nil {
		d.Fields = nil
		return
	}
	d.Fields = &f
}

// Merchant is who the document comes from, as far as it can be trusted: a
// DKIM-verified sender's domain, otherwise the vendor extraction found.
// A forged e-mail has none: its sender is not the merchant.
func (d *Document) Merchant() string {
	if d.Email != nil && d.Email.Auth.SenderForged {
		return ""
	}
	if d.Email != nil && d.Email.Auth.DKIM == "verified" && d.Email.Auth.FromDomain != "" {
		// The organisational domain, so that orders@shop.example and
		// ship@mail.shop.example are one merchant.
		if org, err := publicsuffix.EffectiveTLDPlusOne(d.Email.Auth.FromDomain); err == nil {
			return org
		}
		return d.Email.Auth.FromDomain
	}
	if d.Fields != nil {
		return d.Fields.Vendor
	}
	return ""
}

// Private returns the document's Private as its upload has it in the
// clear (blank where it is sealed).
func (d *Document) Private() Private {
	return DocumentUploaded{Filename: d.Filename, Email: d.Email, Job: d.Job}.Private()
}

// SetPrivate puts pr in the document's clear fields and each of subjects
// (one per part) in its part, copying what it changes.
func (d *Document) SetPrivate(pr Private, subjects []string) {
	up := DocumentUploaded{Filename: d.Filename, Email: d.Email, Job: d.Job}.WithPrivate(pr)
	d.Filename, d.Email, d.Job = up.Filename, up.Email, up.Job
	parts := make([]OrderPartAdded, len(d.Parts))
	copy(parts, d.Parts)
	for i := range parts {
		parts[i].Subject = subjects[i]
	}
	d.Parts = parts
}

// DecideAddPart joins another document's e-mail to this order; nil when it
// is already part of it.
func (d *Document) DecideAddPart(p OrderPartAdded) (*OrderPartAdded, error) {
	if !d.Exists() {
		return nil, ErrNotFound
	}
	for _, have := range d.Parts {
		if have.DocumentID == p.DocumentID {
			return nil, nil
		}
	}
	return &p, nil
}

// DecideDuplicate flags the document as a copy of of; nil when it already
// is flagged (the first verdict stands) or names itself.
func (d *Document) DecideDuplicate(of, reason string) (*DuplicateDetected, error) {
	if !d.Exists() {
		return nil, ErrNotFound
	}
	if d.DuplicateOf != "" || of == d.ID {
		return nil, nil
	}
	return &DuplicateDetected{Of: of, Reason: reason}, nil
}

// DecideCorrect merges a user's new values into the earlier corrections;
// nil when they change nothing.
func (d *Document) DecideCorrect(c Fields) (*DocumentCorrected, error) {
	if !d.Exists() {
		return nil, ErrNotFound
	}
	if d.Deleted {
		return nil, ErrInvalidTransition.Detailf("correct document %s: it is deleted; restore it first", d.ID)
	}
	var before, prev Fields
	if d.Corrections != nil {
		before = *d.Corrections
	}
	if d.Fields != nil {
		prev = *d.Fields
	}
	merged := Merge(before, c)
	if fieldsEqual(merged, before) {
		return nil, nil
	}
	return &DocumentCorrected{Corrections: merged, Previous: prev}, nil
}

func fieldsEqual(a, b Fields) bool {
	if len(a.LineItems) != len(b.LineItems) {
		return false
	}
	for i := range a.LineItems {
		if a.LineItems[i] != b.LineItems[i] {
			return false
		}
	}
	a.LineItems, b.LineItems = nil, nil
	return reflect.DeepEqual(a, b)
}

// DecideDelete takes the document out of lists and totals until
// purgeAfter.
func (d *Document) DecideDelete(reason string, purgeAfter time.Time) (*DocumentDeleted, error) {
	if !d.Exists() {
		return nil, ErrNotFound
	}
	if d.Deleted {
		return nil, nil
	}
	return &DocumentDeleted{Reason: Truncate(reason), PurgeAfter: purgeAfter.UTC()}, nil
}

// DecideRestore brings a deleted document back while its file exists.
func (d *Document) DecideRestore(now time.Time) (*DocumentRestored, error) {
	if !d.Exists() {
		return nil, ErrNotFound
	}
	if !d.Deleted {
		return nil, nil
	}
	if d.Purged || !now.Before(d.PurgeAfter) {
		return nil, ErrInvalidTransition.Detailf("restore document %s: its grace period ended at %s", d.ID, d.PurgeAfter.Format(time.RFC3339))
	}
	return &DocumentRestored{}, nil
}

// DecidePurge says whether a deleted document's file may go now.
func (d *Document) DecidePurge(now time.Time) (*DocumentPurged, error) {
	if !d.Exists() {
		return nil, ErrNotFound
	}
	if !d.Deleted || d.Purged || now.Before(d.PurgeAfter) {
		return nil, nil
	}
	return &DocumentPurged{BlobKey: d.BlobKey}, nil
}

// The decisions below take the current state and say which event, if any, a
// command should append. They never perform I/O.

// DecideStart returns the ExtractionStarted event for attempt, or nil when
// the attempt is already started (a redelivered job).
func (d *Document) DecideStart(attempt int, worker string) (*ExtractionStarted, error) {
	if err := d.checkAttempt(attempt); err != nil {
		return nil, err
	}
	if d.Deleted {
		return nil, ErrInvalidTransition.Detailf("start attempt %d of document %s: it is deleted", attempt, d.ID)
	}
	switch d.Status {
	case StatusPending:
		return &ExtractionStarted{Attempt: attempt, Worker: worker}, nil
	case StatusProcessing:
		return nil, nil
	default:
		return nil, ErrInvalidTransition.Detailf("start attempt %d of document %s in status %s", attempt, d.ID, d.Status)
	}
}

// ResultEvent is the event a result for attempt becomes: ReceiptExtracted
// the first time, ExtractionRevised with what changed when an earlier
// result exists.
func (d *Document) ResultEvent(attempt int, f Fields) (string, any) {
	return d.ResultEventWithText(attempt, f, ResultText{})
}

// ResultEventWithText is ResultEvent carrying the document's extracted
// text as well, cut to MaxResultText when it is in the clear (a sealed
// text was cut before sealing).
func (d *Document) ResultEventWithText(attempt int, f Fields, text ResultText) (string, any) {
	text.Text = TruncateText(text.Text)
	if d.Machine == nil {
		return TypeReceiptExtracted, ReceiptExtracted{Attempt: attempt, Fields: f, ResultText: text}
	}
	return TypeExtractionRevised, ExtractionRevised{Attempt: attempt, Fields: f, Changes: Diff(*d.Machine, f), ResultText: text}
}

// DecideResult returns nil when the attempt already has a result, so that a
// job delivered twice records one outcome.
func (d *Document) DecideResult(attempt int) error {
	if err := d.checkAttempt(attempt); err != nil {
		return err
	}
	if d.Status == StatusCompleted || d.Status == StatusFailed {
		return ErrInvalidTransition.Detailf("record result of attempt %d of document %s already %s", attempt, d.ID, d.Status)
	}
	return nil
}

// DecideReprocess returns the next extraction request. A document that is
// still waiting for or in extraction is not asked twice.
func (d *Document) DecideReprocess(reason string) (*ExtractionRequested, error) {
	if !d.Exists() {
		return nil, ErrNotFound
	}
	if d.Deleted {
		return nil, ErrInvalidTransition.Detailf("reprocess document %s: it is deleted; restore it first", d.ID)
	}
	if d.Status == StatusPending || d.Status == StatusProcessing {
		return nil, ErrInvalidTransition.Detailf("reprocess document %s in status %s", d.ID, d.Status)
	}
	return &ExtractionRequested{Attempt: d.Attempt + 1, Reason: reason}, nil
}

// DecideRetry asks for the next attempt after attempt did not finish.
func (d *Document) DecideRetry(attempt int, lastError string, notBefore time.Time) (*ExtractionRequested, error) {
	if err := d.DecideResult(attempt); err != nil {
		return nil, err
	}
	nb := notBefore.UTC()
	return &ExtractionRequested{Attempt: attempt + 1, Reason: ReasonRetry, LastError: Truncate(lastError), NotBefore: &nb}, nil
}

func (d *Document) checkAttempt(attempt int) error {
	if !d.Exists() {
		return ErrNotFound
	}
	if attempt < d.Attempt {
		return ErrStaleAttempt.Detailf("attempt %d of document %s, current attempt %d", attempt, d.ID, d.Attempt)
	}
	if attempt > d.Attempt {
		return ErrInvalidTransition.Detailf("attempt %d of document %s was never requested (current %d)", attempt, d.ID, d.Attempt)
	}
	return nil
}
