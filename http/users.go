package http

import (
	"context"
	"errors"
	"html"
	stdhttp "net/http"
	"net/url"
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
	// RFC 8058: a mail client's one-click unsubscribe POSTs to the link;
	// a GET (a person's click, or a scanner that fetches every link)
	// only shows a button that POSTs, so nothing is changed by fetching.
	verify := func(ctx context.Context, token string) (tenant, email string, err error) {
		tenant, email, err = s.deps.Links.Verify(ctx, token)
		switch {
		case errors.Is(err, notify.ErrExpiredToken):
			return "", "", huma.NewError(stdhttp.StatusGone, "this unsubscribe link has expired; "+
				"every e-mail from Tally carries a fresh one, or turn e-mails off with PUT /v1/users/{email}/notifications")
		case errors.Is(err, notify.ErrBadToken):
			return "", "", huma.Error400BadRequest("this unsubscribe link is not valid")
		case err != nil:
			return "", "", s.dbFail(ctx, err)
		}
		return tenant, email, nil
	}
	page := func(body string) *unsubscribeOutput {
		return &unsubscribeOutput{ContentType: "text/html; charset=utf-8",
			Body: []byte("<!doctype html><meta charset=utf-8><title>Tally e-mails</title>" + body)}
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "unsubscribe-get", Method: stdhttp.MethodGet, Path: "/v1/unsubscribe",
		Tags: []string{"Users"}, Summary: "Show the unsubscribe button of a link in an e-mail",
		Description: "Changes nothing: the page's button POSTs the same link. Links expire after 90 days (410).",
		Errors:      []int{400, 410, 503},
	}, func(ctx context.Context, in *unsubscribeInput) (*unsubscribeOutput, error) {
		if _, _, err := verify(ctx, in.Token); err != nil {
			return nil, err
		}
		action := "/v1/unsubscribe?token=" + url.QueryEscape(in.Token)
		return page(`<form method=post action="` + html.EscapeString(action) + `">` +
			`<p>Stop the e-mails Tally sends to this address?</p><button type=submit>Unsubscribe</button></form>`), nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "unsubscribe-post", Method: stdhttp.MethodPost, Path: "/v1/unsubscribe",
		Tags: []string{"Users"}, Summary: "Turn e-mails off from a link in an e-mail (no key needed)",
		Description: "The one-click unsubscribe of RFC 8058 (List-Unsubscribe-Post), and the page's button. " +
			"Links expire after 90 days (410).",
		Errors: []int{400, 410, 503},
	}, func(ctx context.Context, in *unsubscribeInput) (*unsubscribeOutput, error) {
		tenant, email, err := verify(ctx, in.Token)
		if err != nil {
			return nil, err
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
		return page("<p>You will get no more e-mails from Tally.</p>"), nil
	})
}

func userEmail(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if err := domain.ValidateEmail(email); err != nil {
		return "", huma.Error400BadRequest(email + " is not an e-mail address")
	}
	return email, nil
}
