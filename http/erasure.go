package http

import (
	"context"
	stdhttp "net/http"

	"github.com/danielgtaylor/huma/v2"

	"tally/commands"
	"tally/domain"
)

type eraseInput struct {
	Email string `path:"email" maxLength:"254" doc:"The user's e-mail address."`
}

type eraseOutput struct{}

func (s *Server) registerErasure() {
	if s.deps.Personal == nil {
		return
	}
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "erase-user", Method: stdhttp.MethodDelete, Path: "/v1/users/{email}", Tags: []string{"Users"},
		Summary: "Erase a user's personal data",
		Description: "Destroys the user's key, so their name and e-mail in the event history (kept for good) no longer " +
			"open, blanks them in every read model, drops their e-mail preference, deletes their documents' files " +
			"(uploads and e-mails) and empties the stored webhook bodies about those documents; amounts and totals stay. " +
			"Appends `UserErased` so replays and subscribers forget them too. The user gets no further e-mails " +
			"or reports. A later upload by the same address starts a new user with a new id.\n\n" +
			"204 when done; calling again answers 204 as well and finishes an erasure an earlier call left " +
			"unrecorded (DELETE is idempotent). 404 when the tenant never had a user with this address.",
		DefaultStatus: stdhttp.StatusNoContent,
		Errors:        []int{400, 404, 502, 503},
	}), func(ctx context.Context, in *eraseInput) (*eraseOutput, error) {
		email, err := userEmail(in.Email)
		if err != nil {
			return nil, err
		}
		if _, err := s.deps.Commands.EraseUser(ctx, commands.EraseUser{
			Meta: commands.Meta{Tenant: tenantOf(ctx), CorrelationID: requestID(ctx)}, Email: email}); err != nil {
			return nil, s.fail(ctx, err)
		}
		return &eraseOutput{}, nil
	})
}

// redactErased returns a document's history for the audit view: what
// older events of an erased user hold in the clear is blanked
// (personal.Keys.RedactHistory).
func (s *Server) redactErased(ctx context.Context, history []domain.Envelope) ([]domain.Envelope, error) {
	if s.deps.Personal == nil {
		return history, nil // a deployment without user keys erases nothing
	}
	return s.deps.Personal.RedactHistory(ctx, history)
}
