package web

import (
	"net/http"
	"net/url"

	"tally/notify"
)

// preferences are the members' e-mail preferences, the same ones
// /v1/users/{email}/notifications reads and sets; a member's address is
// their account's.
func (s *Server) preferences() notify.Preferences {
	return notify.Preferences{Queries: s.q, Personal: s.deps.Personal}
}

// accountData is what the account page shows besides the viewer.
type accountData struct {
	Emails notify.Preference
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	s.renderAccount(w, r, http.StatusOK, r.URL.Query().Get("done"), "")
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, flash, errMsg string) {
	v := viewerOf(r)
	pref, err := s.preferences().Get(r.Context(), v.Tenant, v.Email)
	if err != nil {
		s.failed(w, r, err, "read your e-mail preference", nil)
		return
	}
	s.render(w, r, status, "account", page{Title: "Your account", Nav: "account", Flash: flash, Error: errMsg,
		Data: accountData{Emails: pref}})
}

// setNotifications turns the member's own e-mails on or off.
func (s *Server) setNotifications(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	var enabled bool
	switch r.PostFormValue("emails") {
	case "on":
		enabled = true
	case "off":
	default:
		s.renderAccount(w, r, http.StatusBadRequest, "", "Choose whether Tally e-mails you.")
		return
	}
	pref, err := s.preferences().Set(r.Context(), v.Tenant, v.Email, enabled)
	if err != nil {
		s.failed(w, r, err, "change your e-mail preference", func(status int, msg string) {
			s.renderAccount(w, r, status, "", msg)
		})
		return
	}
	done := "Tally sends you no more e-mails."
	if pref.Enabled {
		done = "E-mails are on."
		if !pref.Confirmed {
			done += " Where this server asks for it, the next e-mail is a link to confirm your address first."
		}
	}
	http.Redirect(w, r, "/account?done="+url.QueryEscape(done), http.StatusSeeOther)
}
