package mailbox

import (
	"context"
	"errors"
	"fmt"

	"tally/commands"
	"tally/domain"
)

// ErrRejected means a submitted message can never become a document (it
// is not a readable e-mail); it is remembered and not tried again.
var ErrRejected = errors.New("message rejected")

// Submitter turns one raw e-mail into an e-receipt document. The same
// commandID must always land on the same document, however often it is
// submitted; a message that can never be taken is ErrRejected.
type Submitter interface {
	SubmitEmail(ctx context.Context, tenant string, user domain.User, raw []byte, commandID string) (documentID string, err error)
}

// Commands submits through commands.Handler.SubmitEmailReceipt, which
// derives the document id from the command id.
type Commands struct {
	Handler *commands.Handler
	// Job, when set, names the e-receipt job a tenant's messages become
	// (their results then go to the tenant's results endpoint); nil means
	// a plain e-mail document.
	Job func(ctx context.Context, tenant string) (*domain.EReceiptJob, error)
}

// SubmitEmail implements Submitter.
func (c Commands) SubmitEmail(ctx context.Context, tenant string, user domain.User, raw []byte, commandID string) (string, error) {
	var job *domain.EReceiptJob
	if c.Job != nil {
		var err error
		if job, err = c.Job(ctx, tenant); err != nil {
			return "", err
		}
	}
	res, err := c.Handler.SubmitEmailReceipt(ctx, commands.SubmitEmailReceipt{
		Meta: commands.Meta{Tenant: tenant, CommandID: commandID, CorrelationID: commandID}, Raw: raw, User: user, Job: job,
	})
	if errors.Is(err, commands.ErrInvalidInput) {
		return "", fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return res.DocumentID, err
}
