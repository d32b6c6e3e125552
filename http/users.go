package http

import (
	"context"
	"errors"
	stdhttp "net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"tally/domain"
	"tally/notify"
	"tally/readmodel"
)

type userInput struct {
	Email string `path:"email" maxLength:"254" doc:"The user's e-mail address."`
}

// NotificationSettings is a user's e-mail preference.
type NotificationSettings struct {
	Email     string `json:"email"`
	Enabled   bool   `json:"enabled" doc:"Whether the user wants Tally's e-mails about expenses and monthly reports."`
	Confirmed bool   `json:"confirmed" doc:"Whether the address's owner agreed (the link of the confirmation e-mail); where the deployment requires it, e-mails go only to confirmed addresses."`
}

type notificationsOutput struct{ Body NotificationSettings }

type setNotificationsInput struct {
	Email string `path:"email" maxLength:"254"`
	Body  struct {
		Enabled bool `json:"enabled"`
	}
}

type reportInput struct {
	Email string `path:"email" maxLength:"254"`
	Month string `path:"month" pattern:"^[0-9]{4}-(0[1-9]|1[0-2])$" doc:"YYYY-MM"`
}

type reportOutput struct{ Body notify.Report }

type unsubscribeInput struct {
	Token string `query:"token" required:"true" maxLength:"1000"`
}

type unsubscribeOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *Server) registerUsers() {
	if s.deps.Links == nil || s.deps.Reports == nil {
		return
	}
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "get-notifications", Method: stdhttp.MethodGet, Path: "/v1/users/{email}/notifications",
		Tags: []string{"Users"}, Summary: "Whether a user gets e-mails", Errors: []int{400, 503},
	}), func(ctx context.Context, in *userInput) (*notificationsOutput, error) {
		email, err := userEmail(in.Email)
		if err != nil {
			return nil, err
		}
		return s.notificationSettings(ctx, email)
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "set-notifications", Method: stdhttp.MethodPut, Path: "/v1/users/{email}/notifications",
		Tags: []string{"Users"}, Summary: "Turn a user's e-mails on or off",
		Description: "Turning them on again after they were off (an unsubscribe) takes a fresh confirmation by the " +
			"address's owner: the next e-mail Tally would send is a confirmation link instead. An erased user is 409.",
		Errors: []int{400, 409, 503},
	}), func(ctx context.Context, in *setNotificationsInput) (*notificationsOutput, error) {
		email, err := userEmail(in.Email)
		if err != nil {
			return nil, err
		}
		pref, err := s.preferences().Set(ctx, tenantOf(ctx), email, in.Body.Enabled)
		if errors.Is(err, notify.ErrErased) {
			return nil, s.problem(ctx, err, domain.KindInternal)
		}
		if err != nil {
			return nil, s.dbFail(ctx, err)
		}
		return &notificationsOutput{Body: NotificationSettings{Email: email, Enabled: pref.Enabled, Confirmed: pref.Confirmed}}, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "get-monthly-report", Method: stdhttp.MethodGet, Path: "/v1/users/{email}/reports/{month}",
		Tags: []string{"Users"}, Summary: "A user's monthly report, as e-mailed on the 1st", Errors: []int{400, 503},
	}), func(ctx context.Context, in *reportInput) (*reportOutput, error) {
		email, err := userEmail(in.Email)
		if err != nil {
			return nil, err
		}
		rep, err := s.deps.Reports.Build(ctx, tenantOf(ctx), email, in.Month)
		if err != nil {
			return nil, s.dbFail(ctx, err)
		}
		return &reportOutput{Body: rep}, nil
	})
	s.registerLink(linkRoute{id: "unsubscribe", path: "/v1/unsubscribe", what: "unsubscribe",
		summary: "Turn e-mails off from a link in an e-mail (no key needed)", lifetime: "90 days",
		verify:   s.deps.Links.Verify,
		question: "Stop the e-mails Tally sends to this address?", button: "Unsubscribe",
		act: func(ctx context.Context, tenant, email string) error {
			erased := false
			if s.deps.Personal != nil {
				var err error
				if erased, err = s.deps.Personal.Erased(ctx, tenant, email); err != nil {
					return s.dbFail(ctx, err)
				}
			}
			// An erased user gets no e-mail anyway; storing their address
			// would bring it back.
			if !erased {
				if err := s.queries.SetEmailEnabled(ctx, readmodel.SetEmailEnabledParams{Tenant: tenant, UserEmail: email}); err != nil {
					return s.dbFail(ctx, err)
				}
			}
			return nil
		},
		done:          "You will get no more e-mails from Tally.",
		expiredAdvice: "every e-mail from Tally carries a fresh one, or turn e-mails off with PUT /v1/users/{email}/notifications"})
}

func userEmail(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if err := domain.ValidateEmail(email); err != nil {
		return "", huma.Error400BadRequest(email + " is not an e-mail address")
	}
	return email, nil
}
