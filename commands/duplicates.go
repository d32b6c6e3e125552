package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"tally/domain"
	"tally/eventstore"
)

// fingerprint is one content key of a document and what sharing it means.
type fingerprint struct {
	reason string
	key    string
}

// uploadKeys are the keys known at upload: the stored file's hash and,
// for an e-mail, its Message-ID. They come from the recorded document, not
// from a request: a retried request may carry other bytes than the first.
func uploadKeys(d *domain.Document) []fingerprint {
	keys := []fingerprint{{domain.DuplicateSameContent, d.SHA256}}
	if d.Email != nil && d.Email.MessageID != "" {
		keys = append(keys, fingerprint{domain.DuplicateSameMessage, strings.ToLower(d.Email.MessageID)})
	}
	return keys
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkDuplicates claims each key (the upload keys when keys is nil) for the document and flags it as a
// duplicate of whichever document claimed a key first. The claim is an
// append that expects an empty subject, so of two concurrent copies exactly
// one wins, on any number of API processes.
//
// It runs right after the document's own event is stored and never fails
// the command: the document is accepted either way. A check that could not
// run (event store down, a crash in between) is made up for by
// CheckDuplicates, which a durable consumer runs for every upload and
// result (package duplicates).
func (h *Handler) checkDuplicates(ctx context.Context, meta Meta, docID string, keys []fingerprint) {
	if err := h.duplicates(ctx, meta, docID, keys); err != nil {
		h.log.WarnContext(ctx, "duplicate check failed; the duplicates consumer will retry", "doc_id", docID, "err", err)
	}
}

// checkDuplicatesOf is checkDuplicates for a document already in hand.
func (h *Handler) checkDuplicatesOf(ctx context.Context, meta Meta, doc *domain.Document, keys []fingerprint) {
	if err := h.duplicatesOf(ctx, meta, doc, keys); err != nil {
		h.log.WarnContext(ctx, "duplicate check failed; the duplicates consumer will retry", "doc_id", doc.ID, "err", err)
	}
}

func (h *Handler) duplicates(ctx context.Context, meta Meta, docID string, keys []fingerprint) error {
	doc, err := h.docs.fold(ctx, meta.Tenant, docID)
	if err != nil {
		return err
	}
	return h.duplicatesOf(ctx, meta, doc, keys)
}

func (h *Handler) duplicatesOf(ctx context.Context, meta Meta, doc *domain.Document, keys []fingerprint) error {
	docID := doc.ID
	if !doc.Exists() || doc.DuplicateOf != "" {
		return nil
	}
	if keys == nil {
		keys = uploadKeys(doc)
	}
	for _, k := range keys {
		// Copies count per user: two people filing the same invoice in
		// one tenant each spent (or share) it; one person filing it twice
		// did not spend twice.
		k.key = ownerKey(doc) + "\x00" + k.key
		first, err := h.claim(ctx, meta.Tenant, docID, k)
		if err != nil {
			return err
		}
		if first == docID {
			continue
		}
		original, err := h.docs.fold(ctx, meta.Tenant, first)
		if err != nil {
			return err
		}
		// A deleted original does not make later copies duplicates: the
		// user removed it, so the copy is what counts now.
		if !original.Exists() || original.Deleted {
			continue
		}
		dm := meta
		dm.CommandID = "duplicate:" + k.reason
		_, err = h.docs.Update(ctx, dm, docID, func(d *domain.Document) (Event, error) {
			p, err := d.DecideDuplicate(first, k.reason)
			if p == nil || err != nil {
				return Event{}, err
			}
			return Event{domain.TypeDuplicateDetected, *p}, nil
		})
		return err // one verdict is enough
	}
	return nil
}

// CheckDuplicates runs the duplicate checks an event calls for, the same
// ones the command ran inline right after appending it: the upload keys
// for a DocumentUploaded; the invoice key (or, for an aggregating
// e-receipt job, the order) for a result. Every step is idempotent, so
// running it again for an event whose checks already ran changes nothing.
func (h *Handler) CheckDuplicates(ctx context.Context, e domain.Envelope) error {
	if e.AggregateType != domain.AggregateDocument {
		return nil
	}
	ctx = context.WithValue(ctx, recheckKey{}, true)
	meta := Meta{Tenant: e.Tenant, CorrelationID: e.CorrelationID}
	switch e.Type {
	case domain.TypeDocumentUploaded:
		// The upload keys are in the event itself, and what happened to
		// the document since changes no verdict (the flag is decided on
		// the document as it is now): no read of its history, which on a
		// long stream is the costly part of this check.
		doc, err := domain.Fold([]domain.Envelope{e})
		if err != nil {
			return h.duplicates(ctx, meta, e.AggregateID, nil)
		}
		return h.duplicatesOf(ctx, meta, doc, nil)
	case domain.TypeReceiptExtracted, domain.TypeExtractionRevised:
		var p domain.ReceiptExtracted
		if err := e.Decode(&p); err != nil {
			return err
		}
		doc, err := h.docs.fold(ctx, e.Tenant, e.AggregateID)
		if err != nil || !doc.Exists() || doc.Attempt != p.Attempt {
			return err // a stale attempt's result decides nothing
		}
		order, part, err := h.claimOrder(ctx, doc, p.Attempt, p.Fields)
		if err != nil {
			return err
		}
		return h.afterResult(ctx, meta, doc, p.Fields, order, part)
	}
	return nil
}

// ownerKey names a document's user in fingerprint keys: the pseudonymous
// id, or for a schema-1 document the address it was filed under. The keys
// are hashed into subjects, so neither appears in the stream.
func ownerKey(d *domain.Document) string {
	if d.Owner.ID != "" {
		return d.Owner.ID
	}
	if d.Owner.Plain != nil {
		return strings.ToLower(d.Owner.Plain.Email)
	}
	return ""
}

// claim appends FingerprintClaimed for the key unless a document claimed it
// before; it returns the document that holds the key.
func (h *Handler) claim(ctx context.Context, tenant, docID string, k fingerprint) (string, error) {
	id := domain.FingerprintID(k.reason, k.key)
	if rechecking, _ := ctx.Value(recheckKey{}).(bool); rechecking {
		// The check that ran right after the event has nearly always
		// claimed the key already: read the claim before trying to append
		// one that would be refused.
		first, found, err := h.claimHolder(ctx, tenant, id)
		if err != nil || found {
			return first, err
		}
	}
	e, err := h.envelope(Meta{Tenant: tenant, CommandID: "claim:" + docID}, id, domain.TypeFingerprintClaimed,
		domain.FingerprintClaimed{DocumentID: docID, Reason: k.reason})
	if err != nil {
		return "", err
	}
	e.AggregateType = domain.AggregateFingerprint
	_, err = h.events.Append(ctx, e, 0)
	if err == nil {
		return docID, nil
	}
	if !errors.Is(err, eventstore.ErrConflict) {
		return "", fmt.Errorf("claim %s: %w", k.reason, err)
	}
	first, found, err := h.claimHolder(ctx, tenant, id)
	if err == nil && !found {
		err = eventstore.ErrNotFound // a claim that conflicted is there
	}
	if err != nil {
		return "", fmt.Errorf("read claim %s: %w", k.reason, err)
	}
	return first, nil
}

// claimHolder is the document that claimed a fingerprint, if any: every
// claim expects the subject empty, so its one event is the first claim.
func (h *Handler) claimHolder(ctx context.Context, tenant, id string) (string, bool, error) {
	e, found, err := h.events.LoadLast(ctx, tenant, domain.AggregateFingerprint, id)
	if err != nil || !found {
		return "", false, err
	}
	var p domain.FingerprintClaimed
	if err := e.Decode(&p); err != nil {
		return "", false, err
	}
	return p.DocumentID, true, nil
}

// recheckKey marks the context of CheckDuplicates, which repeats checks
// that have nearly always run already.
type recheckKey struct{}
