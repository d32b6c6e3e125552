package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"tally/accounts"
	"tally/apikeys"
)

// settingsPage is the admin's page: members, invitations and API keys.
type settingsPage struct {
	Members     []accounts.Account
	Invitations []accounts.Invitation
	// Link is a new invitation's link, shown when no e-mail could carry it.
	Link string
	Mail bool
	// Keys are the tenant's API keys (never the keys themselves), nil when
	// this server does not manage them here (ManageKeys false); NewKey is
	// a key just made, shown this once.
	Keys       []apikeys.Info
	NewKey     string
	ManageKeys bool
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	s.renderSettings(w, r, http.StatusOK, settingsPage{}, r.URL.Query().Get("done"), "")
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int, data settingsPage, flash, errMsg string) {
	v := viewerOf(r)
	var err error
	if data.Members, err = s.deps.Accounts.List(r.Context(), v.Tenant); err == nil {
		data.Invitations, err = s.deps.Accounts.Invitations(r.Context(), v.Tenant)
	}
	if err == nil && s.deps.APIKeys != nil {
		data.ManageKeys = true
		data.Keys, err = s.deps.APIKeys.List(r.Context(), v.Tenant)
	}
	if err != nil {
		s.deps.Log.ErrorContext(r.Context(), "settings: members failed", "err", err)
		s.errorPage(w, r, http.StatusServiceUnavailable, "The database is unavailable right now.")
		return
	}
	data.Mail = s.deps.Mailer != nil
	s.render(w, r, status, "settings", page{Title: "Settings", Nav: "settings", Flash: flash, Error: errMsg, Data: data})
}

// invite makes an invitation and e-mails its link; without e-mail (or
// when sending fails) the admin sees the link to pass on.
func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	email, role := r.PostFormValue("email"), r.PostFormValue("role")
	token, err := s.deps.Accounts.Invite(r.Context(), v.Tenant, email, role)
	if msg := accounts.Message(err); msg != "" {
		s.renderSettings(w, r, http.StatusBadRequest, settingsPage{}, "", userMessage(err))
		return
	}
	if err != nil {
		s.deps.Log.ErrorContext(r.Context(), "invite failed", "err", err)
		s.errorPage(w, r, http.StatusServiceUnavailable, "Could not make the invitation right now; try again.")
		return
	}
	link := InviteLink(s.deps.PublicURL, token)
	if s.deps.Mailer != nil {
		to := strings.ToLower(strings.TrimSpace(email))
		if err := s.deps.Mailer.Send(r.Context(), accounts.InvitationMessage(to, v.Tenant, role, link)); err == nil {
			http.Redirect(w, r, "/settings?done="+url.QueryEscape("Invitation sent to "+to+"."), http.StatusSeeOther)
			return
		}
		s.deps.Log.ErrorContext(r.Context(), "invitation e-mail failed", "err", err)
	}
	s.renderSettings(w, r, http.StatusOK, settingsPage{Link: link}, "Invitation made. No e-mail went out: pass this link on yourself.", "")
}

// InviteLink is the page an invitation's token opens.
func InviteLink(publicURL, token string) string {
	return strings.TrimSuffix(publicURL, "/") + "/invite/" + token
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request) {
	s.changeMember(w, r, func(id uuid.UUID) error {
		return s.deps.Accounts.SetRole(r.Context(), viewerOf(r).Tenant, id, r.PostFormValue("role"))
	}, "Role changed.")
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	s.changeMember(w, r, func(id uuid.UUID) error {
		if err := s.deps.Accounts.Remove(r.Context(), viewerOf(r).Tenant, id); err != nil {
			return err
		}
		return s.deps.Sessions.EndAll(r.Context(), id)
	}, "Member removed and signed out.")
}

func (s *Server) changeMember(w http.ResponseWriter, r *http.Request, change func(uuid.UUID) error, done string) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.errorPage(w, r, http.StatusNotFound, "No such member.")
		return
	}
	err = change(id)
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		s.errorPage(w, r, http.StatusNotFound, "No such member.")
	case accounts.Message(err) != "":
		s.renderSettings(w, r, http.StatusConflict, settingsPage{}, "", userMessage(err))
	case err != nil:
		s.deps.Log.ErrorContext(r.Context(), "change member failed", "err", err)
		s.errorPage(w, r, http.StatusServiceUnavailable, "Could not change the member right now; try again.")
	default:
		http.Redirect(w, r, "/settings?done="+url.QueryEscape(done), http.StatusSeeOther)
	}
}

// createKey makes an API key for the tenant and shows it once.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	if s.deps.APIKeys == nil {
		s.errorPage(w, r, http.StatusNotFound, "API keys are not managed on this server's pages.")
		return
	}
	key, err := s.deps.APIKeys.Create(r.Context(), viewerOf(r).Tenant)
	if err != nil {
		s.deps.Log.ErrorContext(r.Context(), "create api key failed", "err", err)
		s.errorPage(w, r, http.StatusServiceUnavailable, "Could not make the key right now; try again.")
		return
	}
	s.renderSettings(w, r, http.StatusOK, settingsPage{NewKey: key},
		"Key made. Copy it now: it is stored hashed and shown only this once.", "")
}

// revokeKey ends one of the tenant's keys at once; another tenant's key
// is no key of this page's.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil || s.deps.APIKeys == nil {
		s.errorPage(w, r, http.StatusNotFound, "No such key.")
		return
	}
	keys, err := s.deps.APIKeys.List(r.Context(), viewerOf(r).Tenant)
	if err == nil {
		err = apikeys.ErrNoSuchKey
		for _, k := range keys {
			if k.ID == id && k.RevokedAt == nil {
				err = s.deps.APIKeys.Revoke(r.Context(), id)
				break
			}
		}
	}
	switch {
	case errors.Is(err, apikeys.ErrNoSuchKey):
		s.errorPage(w, r, http.StatusNotFound, "No such key, or it is revoked already.")
	case err != nil:
		s.deps.Log.ErrorContext(r.Context(), "revoke api key failed", "err", err)
		s.errorPage(w, r, http.StatusServiceUnavailable, "Could not revoke the key right now; try again.")
	default:
		http.Redirect(w, r, "/settings?done="+url.QueryEscape("Key revoked."), http.StatusSeeOther)
	}
}
