package http

import (
	"context"
	"errors"
	"html"
	stdhttp "net/http"
	"net/url"

	"github.com/danielgtaylor/huma/v2"

	"tally/domain"
	"tally/notify"
	"tally/readmodel"
)

// preferences reads and changes users' e-mail preferences.
func (s *Server) preferences() notify.Preferences {
	return notify.Preferences{Queries: s.queries, Personal: s.deps.Personal}
}

// notificationSettings reads what a user wants and agreed to.
func (s *Server) notificationSettings(ctx context.Context, email string) (*notificationsOutput, error) {
	pref, err := s.preferences().Get(ctx, tenantOf(ctx), email)
	if err != nil {
		return nil, s.dbFail(ctx, err)
	}
	return &notificationsOutput{Body: NotificationSettings{Email: email, Enabled: pref.Enabled, Confirmed: pref.Confirmed}}, nil
}

// notErased refuses to store an erased user's address again.
func (s *Server) notErased(ctx context.Context, tenant, email string) error {
	if s.deps.Personal == nil {
		return nil
	}
	erased, err := s.deps.Personal.Erased(ctx, tenant, email)
	if err != nil {
		return s.dbFail(ctx, err)
	}
	if erased {
		return s.problem(ctx, notify.ErrErased, domain.KindInternal)
	}
	return nil
}

// linkRoute is a link mailed to a user that acts without an API key:
// GET shows a button and changes nothing (mail scanners fetch every link),
// the button or a mail client POSTs, and POST acts (RFC 8058 for
// unsubscribe links).
type linkRoute struct {
	id, path, what    string // operation id prefix, path, "unsubscribe" / "confirmation"
	summary, lifetime string // the POST's summary; "90 days"
	verify            func(ctx context.Context, token string) (tenant, email string, err error)
	question, button  string // the GET page
	act               func(ctx context.Context, tenant, email string) error
	done              string // the POST page
	expiredAdvice     string
}

func (s *Server) registerLink(l linkRoute) {
	verify := func(ctx context.Context, token string) (string, string, error) {
		tenant, email, err := l.verify(ctx, token)
		switch {
		case errors.Is(err, notify.ErrExpiredToken):
			return "", "", huma.NewError(stdhttp.StatusGone, "this "+l.what+" link has expired; "+l.expiredAdvice)
		case errors.Is(err, notify.ErrBadToken):
			return "", "", huma.Error400BadRequest("this " + l.what + " link is not valid")
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
		OperationID: l.id + "-get", Method: stdhttp.MethodGet, Path: l.path,
		Tags: []string{"Users"}, Summary: "Show the button of the " + l.what + " link in an e-mail",
		Description: "Changes nothing: the page's button POSTs the same link. Links expire after " + l.lifetime + " (410).",
		Errors:      []int{400, 410, 503},
	}, func(ctx context.Context, in *unsubscribeInput) (*unsubscribeOutput, error) {
		if _, _, err := verify(ctx, in.Token); err != nil {
			return nil, err
		}
		action := l.path + "?token=" + url.QueryEscape(in.Token)
		return page(`<form method=post action="` + html.EscapeString(action) + `"><p>` + l.question +
			`</p><button type=submit>` + l.button + `</button></form>`), nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: l.id + "-post", Method: stdhttp.MethodPost, Path: l.path,
		Tags: []string{"Users"}, Summary: l.summary,
		Description: "The button of the GET page (and, for unsubscribe links, the one-click POST of RFC 8058). " +
			"Links expire after " + l.lifetime + " (410).",
		Errors: []int{400, 409, 410, 503},
	}, func(ctx context.Context, in *unsubscribeInput) (*unsubscribeOutput, error) {
		tenant, email, err := verify(ctx, in.Token)
		if err != nil {
			return nil, err
		}
		if err := l.act(ctx, tenant, email); err != nil {
			return nil, err
		}
		return page("<p>" + l.done + "</p>"), nil
	})
}

// registerConsent serves the confirmation link, by which an address's
// owner agrees to Tally's e-mails.
func (s *Server) registerConsent() {
	if s.deps.Links == nil {
		return
	}
	s.registerLink(linkRoute{id: "confirm-email", path: "/v1/confirm-email", what: "confirmation",
		summary: "Agree to Tally's e-mails (the confirmation link's button)", lifetime: "14 days",
		verify:   s.deps.Links.VerifyConfirm,
		question: "May Tally e-mail you about your documents and your monthly expenses?", button: "Yes, e-mail me",
		act: func(ctx context.Context, tenant, email string) error {
			if err := s.notErased(ctx, tenant, email); err != nil {
				return err
			}
			if err := s.queries.ConfirmEmail(ctx, readmodel.ConfirmEmailParams{Tenant: tenant, UserEmail: email}); err != nil {
				return s.dbFail(ctx, err)
			}
			return nil
		},
		done:          "Thank you: Tally will e-mail you about your documents. Every e-mail has a link to stop them.",
		expiredAdvice: "a new one comes with the next e-mail Tally would send"})
}
