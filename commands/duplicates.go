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
// It runs after the document's own event is stored and never fails the
// command: the document is accepted either way, and a check that could not
// run (event store down) is logged. A retried upload runs it again.
func (h *Handler) checkDuplicates(ctx context.Context, meta Meta, docID string, keys []fingerprint) {
	doc, err := h.load(ctx, meta.Tenant, docID)
	if err != nil || !doc.Exists() {
		h.log.WarnContext(ctx, "duplicate check failed", "doc_id", docID, "err", err)
		return
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
			h.log.WarnContext(ctx, "duplicate check failed", "doc_id", docID, "reason", k.reason, "err", err)
			continue
		}
		if first == docID {
			continue
		}
		original, err := h.load(ctx, meta.Tenant, first)
		if err != nil {
			h.log.WarnContext(ctx, "duplicate check failed", "doc_id", docID, "reason", k.reason, "err", err)
			continue
		}
		// A deleted original does not make later copies duplicates: the
		// user removed it, so the copy is what counts now.
		if !original.Exists() || original.Deleted {
			continue
		}
		dm := meta
		dm.CommandID = "duplicate:" + k.reason
		_, err = h.decide(ctx, dm, docID, func(d *domain.Document) (string, any, error) {
			p, err := d.DecideDuplicate(first, k.reason)
			if p == nil || err != nil {
				return "", nil, err
			}
			return domain.TypeDuplicateDetected, *p, nil
		})
		if err != nil {
			h.log.WarnContext(ctx, "duplicate flag failed", "doc_id", docID, "reason", k.reason, "err", err)
			continue
		}
		return // one verdict is enough
	}
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
	history, err := h.events.LoadAggregate(ctx, tenant, domain.AggregateFingerprint, id)
	if err != nil || len(history) == 0 {
		return "", fmt.Errorf("read claim %s: %w", k.reason, err)
	}
	var p domain.FingerprintClaimed
	if err := history[0].Decode(&p); err != nil {
		return "", err
	}
	return p.DocumentID, nil
}
