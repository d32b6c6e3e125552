package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"tally/accounts"
)

type loginData struct {
	Email string
	Next  string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if v, _ := s.signedIn(r); v != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", CSRF: s.formToken(w, r),
		Data: loginData{Next: r.URL.Query().Get("next")}})
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/documents"
	}
	return next
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	data := loginData{Email: email, Next: r.PostFormValue("next")}
	again := func(status int, msg string) {
		s.render(w, r, status, "login", page{Title: "Sign in", CSRF: s.formToken(w, r), Error: msg, Data: data})
	}
	if !s.validFormToken(r) {
		again(http.StatusForbidden, "The form expired. Sign in again.")
		return
	}
	ctx := r.Context()
	ip := s.clientIP(r)
	for _, t := range []struct {
		th  *accounts.Throttle
		key string
	}{{s.deps.LoginThrottle, email}, {s.deps.AddressThrottle, ip}} {
		wait, err := t.th.Wait(ctx, t.key)
		if err != nil {
			s.deps.Log.ErrorContext(ctx, "login throttle unavailable", "err", err)
			again(http.StatusServiceUnavailable, "Sign-in is unavailable right now. Try again shortly.")
			return
		}
		if wait > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds()+0.5)))
			again(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins. Try again in %s.", wait.Round(time.Second)))
			return
		}
	}
	acct, err := s.deps.Accounts.Authenticate(ctx, email, r.PostFormValue("password"))
	if errors.Is(err, accounts.ErrBadCredentials) {
		_ = s.deps.LoginThrottle.Fail(ctx, email)
		_ = s.deps.AddressThrottle.Fail(ctx, ip)
		again(http.StatusUnauthorized, "Wrong e-mail address or password.")
		return
	}
	if err != nil {
		s.deps.Log.ErrorContext(ctx, "sign-in failed", "err", err)
		again(http.StatusServiceUnavailable, "Sign-in is unavailable right now. Try again shortly.")
		return
	}
	_ = s.deps.LoginThrottle.Clear(ctx, email)
	if err := s.startSession(w, r, acct); err != nil {
		again(http.StatusServiceUnavailable, "Sign-in is unavailable right now. Try again shortly.")
		return
	}
	http.Redirect(w, r, safeNext(data.Next), http.StatusSeeOther)
}

// startSession signs acct in on a new session (never the one the browser
// had before, so a planted session id gains nothing).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, acct accounts.Account) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		_ = s.deps.Sessions.End(r.Context(), c.Value)
	}
	sess, err := s.deps.Sessions.Start(r.Context(), acct.ID)
	if err != nil {
		s.deps.Log.ErrorContext(r.Context(), "start session failed", "err", err)
		return err
	}
	http.SetCookie(w, s.cookie(r, sessionCookie, sess.Token, int(s.deps.Sessions.Config().Absolute.Seconds())))
	s.deps.Log.InfoContext(r.Context(), "signed in", "account", acct.ID.String(), "tenant", acct.Tenant)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	_ = s.deps.Sessions.End(r.Context(), viewerOf(r).token)
	http.SetCookie(w, s.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) logoutAll(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.Sessions.EndAll(r.Context(), viewerOf(r).ID); err != nil {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Could not sign out everywhere; try again.")
		return
	}
	http.SetCookie(w, s.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type tokenData struct {
	Token string
	Email string
	Role  string
	Sent  bool
	Mail  bool
}

func (s *Server) invitePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, err := s.deps.Accounts.InvitationFor(r.Context(), token)
	if err != nil {
		s.errorPage(w, r, http.StatusNotFound, "This invitation link is unknown, already used or expired. Ask an admin for a new one.")
		return
	}
	s.render(w, r, http.StatusOK, "invite", page{Title: "Join Tally", CSRF: s.formToken(w, r),
		Data: tokenData{Token: token, Email: inv.Email, Role: inv.Role}})
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token := r.PathValue("token")
	if !s.validFormToken(r) {
		s.errorPage(w, r, http.StatusForbidden, "The form expired. Open the invitation link again.")
		return
	}
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		inv, _ := s.deps.Accounts.InvitationFor(r.Context(), token)
		s.render(w, r, http.StatusBadRequest, "invite", page{Title: "Join Tally", CSRF: s.formToken(w, r),
			Error: "The two passwords differ.", Data: tokenData{Token: token, Email: inv.Email, Role: inv.Role}})
		return
	}
	acct, err := s.deps.Accounts.AcceptInvitation(r.Context(), token, r.PostFormValue("name"), r.PostFormValue("password"))
	if errors.Is(err, accounts.ErrInvalidInput) {
		inv, _ := s.deps.Accounts.InvitationFor(r.Context(), token)
		s.render(w, r, http.StatusBadRequest, "invite", page{Title: "Join Tally", CSRF: s.formToken(w, r),
			Error: userMessage(err), Data: tokenData{Token: token, Email: inv.Email, Role: inv.Role}})
		return
	}
	if errors.Is(err, accounts.ErrTokenInvalid) || errors.Is(err, accounts.ErrAccountExists) {
		s.errorPage(w, r, http.StatusConflict, userMessage(err))
		return
	}
	if err != nil {
		s.deps.Log.ErrorContext(r.Context(), "accept invitation failed", "err", err)
		s.errorPage(w, r, http.StatusServiceUnavailable, "Could not create the account right now; try again.")
		return
	}
	if err := s.startSession(w, r, acct); err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/documents", http.StatusSeeOther)
}

func (s *Server) forgotPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "forgot", page{Title: "Reset password", CSRF: s.formToken(w, r),
		Data: tokenData{Mail: s.deps.Mailer != nil}})
}

// forgot answers the same whether or not the address has an account.
func (s *Server) forgot(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !s.validFormToken(r) {
		s.errorPage(w, r, http.StatusForbidden, "The form expired. Try again.")
		return
	}
	ctx := r.Context()
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	// Reset e-mails are throttled like sign-ins, so the form cannot be
	// used to flood someone's inbox.
	if wait, err := s.deps.LoginThrottle.Wait(ctx, "reset:"+email); err == nil && wait == 0 && s.deps.Mailer != nil {
		_ = s.deps.LoginThrottle.Fail(ctx, "reset:"+email)
		token, acct, ok, err := s.deps.Accounts.RequestReset(ctx, email)
		if err != nil {
			s.deps.Log.ErrorContext(ctx, "password reset failed", "err", err)
		}
		if ok {
			link := strings.TrimSuffix(s.deps.PublicURL, "/") + "/reset/" + token
			if err := s.deps.Mailer.Send(ctx, accounts.ResetMessage(acct.Email, link)); err != nil {
				s.deps.Log.ErrorContext(ctx, "password reset e-mail failed", "err", err, "account", acct.ID.String())
			}
		}
	}
	s.render(w, r, http.StatusOK, "forgot", page{Title: "Reset password", CSRF: s.formToken(w, r),
		Data: tokenData{Sent: true, Mail: s.deps.Mailer != nil}})
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "reset", page{Title: "Choose a new password", CSRF: s.formToken(w, r),
		Data: tokenData{Token: r.PathValue("token")}})
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token := r.PathValue("token")
	if !s.validFormToken(r) {
		s.errorPage(w, r, http.StatusForbidden, "The form expired. Open the link again.")
		return
	}
	again := func(status int, msg string) {
		s.render(w, r, status, "reset", page{Title: "Choose a new password", CSRF: s.formToken(w, r), Error: msg,
			Data: tokenData{Token: token}})
	}
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		again(http.StatusBadRequest, "The two passwords differ.")
		return
	}
	acct, err := s.deps.Accounts.ResetPassword(r.Context(), token, r.PostFormValue("password"))
	switch {
	case errors.Is(err, accounts.ErrInvalidInput):
		again(http.StatusBadRequest, userMessage(err))
		return
	case errors.Is(err, accounts.ErrTokenInvalid):
		again(http.StatusBadRequest, "This reset link is unknown, already used or expired. Ask for a new one.")
		return
	case err != nil:
		s.deps.Log.ErrorContext(r.Context(), "reset password failed", "err", err)
		again(http.StatusServiceUnavailable, "Could not change the password right now; try again.")
		return
	}
	// A new password ends every session, a thief's included.
	_ = s.deps.Sessions.EndAll(r.Context(), acct.ID)
	_ = s.deps.LoginThrottle.Clear(r.Context(), acct.Email)
	if err := s.startSession(w, r, acct); err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/documents", http.StatusSeeOther)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	again := func(status int, msg string) { s.renderAccount(w, r, status, "", msg) }
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		again(http.StatusBadRequest, "The two new passwords differ.")
		return
	}
	err := s.deps.Accounts.ChangePassword(r.Context(), v.ID, r.PostFormValue("current"), r.PostFormValue("password"))
	switch {
	case errors.Is(err, accounts.ErrBadCredentials):
		again(http.StatusBadRequest, "The current password is wrong.")
		return
	case errors.Is(err, accounts.ErrInvalidInput):
		again(http.StatusBadRequest, userMessage(err))
		return
	case err != nil:
		s.deps.Log.ErrorContext(r.Context(), "change password failed", "err", err)
		again(http.StatusServiceUnavailable, "Could not change the password right now; try again.")
		return
	}
	_ = s.deps.Sessions.EndAll(r.Context(), v.ID)
	if err := s.startSession(w, r, v.Account); err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?done=Password+changed.+Every+other+session+is+signed+out.", http.StatusSeeOther)
}

// userMessage is an accounts error as a sentence for the page.
func userMessage(err error) string {
	msg := accounts.Message(err)
	if msg == "" {
		return "Something went wrong; try again."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}
