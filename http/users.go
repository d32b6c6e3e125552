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
	Email   string `json:"email"`
	Enabled bool   `json:"enabled" doc:"Whether Tally e-mails this user about expenses and monthly reports."`
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
		enabled, err := s.queries.EmailEnabled(ctx, readmodel.EmailEnabledParams{Tenant: tenantOf(ctx), UserEmail: email})
		if err != nil {
			return nil, s.dbFail(ctx, err)
		}
		return &notificationsOutput{Body: NotificationSettings{Email: email, Enabled: enabled}}, nil
	})
	huma.Register(s.api, secured(huma.Operation{
		OperationID: "set-notifications", Method: stdhttp.MethodPut, Path: "/v1/users/{email}/notifications",
		Tags: []string{"Users"}, Summary: "Turn a user's e-mails on or off", Errors: []int{400, 503},
	}), func(ctx context.Context, in *setNotificationsInput) (*notificationsOutput, error) {
		email, err := userEmail(in.Email)
		if err != nil {
			return nil, err
		}
		if err := s.queries.SetEmailEnabled(ctx, readmodel.SetEmailEnabledParams{Tenant: tenantOf(ctx), UserEmail: email,
			EmailEnabled: in.Body.Enabled}); err != nil {
			return nil, s.dbFail(ctx, err)
		}
		return &notificationsOutput{Body: NotificationSettings{Email: email, Enabled: in.Body.Enabled}}, nil
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
	unsubscribe := func(ctx context.Context, in *unsubscribeInput) (*unsubscribeOutput, error) {
		tenant, email, err := s.deps.Links.Verify(ctx, in.Token)
		if errors.Is(err, notify.ErrBadToken) {
			return nil, huma.Error400BadRequest("this unsubscribe link is not valid")
		}
		if err != nil {
			return nil, s.dbFail(ctx, err)
		}
		erased := false
		if s.deps.Personal != nil {
			if erased, err = s.deps.Personal.Erased(ctx, tenant, email); err != nil {
				return nil, s.dbFail(ctx, err)
			}
		}
		// An erased user gets no e-mail anyway; storing their address
		// would bring it back.
		if !erased {
			if err := s.queries.SetEmailEnabled(ctx, readmodel.SetEmailEnabledParams{Tenant: tenant, UserEmail: email}); err != nil {
				return nil, s.dbFail(ctx, err)
			}
		}
		page := "<!doctype html><title>Unsubscribed</title><p>You will get no more e-mails from Tally. " +
			"You can turn them back on through the API (PUT /v1/users/{email}/notifications).</p>"
		return &unsubscribeOutput{ContentType: "text/html; charset=utf-8", Body: []byte(page)}, nil
	}
	for _, method := range []string{stdhttp.MethodGet, stdhttp.MethodPost} {
		huma.Register(s.api, huma.Operation{
			OperationID: "unsubscribe-" + strings.ToLower(method), Method: method, Path: "/v1/unsubscribe",
			Tags: []string{"Users"}, Summary: "Turn e-mails off from a link in an e-mail (no key needed)",
			Description: "The signed token comes from the e-mail; POST is the one-click form of RFC 8058.",
			Errors:      []int{400, 503},
		}, unsubscribe)
	}
}

func userEmail(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if err := domain.ValidateEmail(email); err != nil {
		return "", huma.Error400BadRequest(email + " is not an e-mail address")
	}
	return email, nil
}
