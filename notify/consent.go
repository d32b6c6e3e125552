package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"tally/domain"
	"tally/mail"
	"tally/readmodel"
)

// Consent: with RequireConfirmation, Tally e-mails an address only after
// its owner agreed. The first e-mail an unconfirmed address would get is
// replaced by one confirmation e-mail (a signed link, ConfirmTTL); the
// receipt itself is not sent. An address that unsubscribed and asks for
// e-mails again (PUT .../notifications) needs a new confirmation.

// confirmData is what the confirm_address template sees.
type confirmData struct {
	Name       string
	ConfirmURL string
}

// mayEmail says whether the user gets the e-mail; when the address is not
// confirmed yet, it sends the confirmation e-mail instead (once).
func (n *Notifier) mayEmail(ctx context.Context, log *slog.Logger, tenant string, user domain.User) (bool, error) {
	if !n.RequireConfirmation {
		enabled, err := n.Queries.EmailEnabled(ctx, readmodel.EmailEnabledParams{Tenant: tenant, UserEmail: user.Email})
		if err != nil {
			return false, fmt.Errorf("read preferences: %w", err)
		}
		if !enabled {
			log.Info("e-mail not sent: the user turned e-mails off")
		}
		return enabled, nil
	}
	consent, err := n.Queries.EmailConsent(ctx, readmodel.EmailConsentParams{Tenant: tenant, UserEmail: user.Email})
	if err != nil {
		return false, fmt.Errorf("read consent: %w", err)
	}
	switch {
	case !consent.Enabled:
		log.Info("e-mail not sent: the user turned e-mails off")
		return false, nil
	case consent.Confirmed:
		return true, nil
	}
	return false, n.askConfirmation(ctx, log, tenant, user)
}

// askConfirmation sends the address's one confirmation e-mail, unless it
// went out already.
func (n *Notifier) askConfirmation(ctx context.Context, log *slog.Logger, tenant string, user domain.User) error {
	key := readmodel.ClaimConfirmationParams{Tenant: tenant, UserEmail: user.Email}
	claimed, err := n.Queries.ClaimConfirmation(ctx, key)
	if err != nil {
		return fmt.Errorf("claim the confirmation e-mail: %w", err)
	}
	if claimed == 0 {
		log.Info("e-mail not sent: the address has not confirmed yet")
		return nil
	}
	release := func() {
		if err := n.Queries.ReleaseConfirmation(ctx, readmodel.ReleaseConfirmationParams(key)); err != nil {
			log.Warn("confirmation e-mail not released for a later try", "err", err)
		}
	}
	link, err := n.Links.Confirm(ctx, tenant, user.Email)
	if err != nil {
		release()
		return err
	}
	subject, text, html, err := n.Templates.Render("confirm_address", confirmData{Name: user.Name, ConfirmURL: link})
	if err != nil {
		release()
		return err
	}
	sum := sha256.Sum256([]byte(tenant + "\x00" + user.Email))
	msg := mail.Message{To: formatAddress(user), Subject: subject, Text: text, HTML: html,
		MessageID: "confirm-" + hex.EncodeToString(sum[:12]) + "@" + n.Sender.MessageIDDomain()}
	err = sendWithRetries(ctx, n.Sender, msg, n.Retries)
	switch {
	case errors.Is(err, mail.ErrPermanent):
		log.Warn("confirmation e-mail refused for good", "err", err)
		return nil
	case err != nil:
		release()
		return err
	}
	log.Info("confirmation e-mail sent", "message_id", msg.MessageID)
	return nil
}
