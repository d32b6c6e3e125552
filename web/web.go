package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/accounts"
	"tally/apikeys"
	"tally/blob"
	"tally/commands"
	"tally/ereceipts"
	"tally/mail"
	"tally/mailbox"
	"tally/personal"
	"tally/ratelimit"
	"tally/readmodel"
	"tally/search"
	"tally/webhooks"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Mailer sends one e-mail (mail.Sender does).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Deps are what the pages need. Mailer may be nil (no SMTP_URL): an
// invitation link is then shown to the admin who made it, and the
// password reset page says that it needs e-mail.
type Deps struct {
	Accounts *accounts.Store
	Sessions *accounts.Sessions
	// LoginThrottle limits failed sign-ins per address, AddressThrottle
	// per client IP.
	LoginThrottle   *accounts.Throttle
	AddressThrottle *accounts.Throttle
	Mailer          Mailer
	Commands        *commands.Handler
	Pool            *pgxpool.Pool
	Search          *search.Searcher
	Personal        *personal.Keys
	Blobs           blob.Store
	// APIKeys, when set, lets admins make and revoke their tenant's API
	// keys on the settings page.
	APIKeys *apikeys.Keys
	// Webhooks, Mailboxes and EReceipts, when set, give admins their
	// settings pages (the same stores the API's routes use);
	// EReceiptResults makes the e-receipt results endpoint a webhook.
	Webhooks        *webhooks.Store
	Mailboxes       *mailbox.Service
	EReceipts       *ereceipts.Store
	EReceiptResults ereceipts.ResultsEndpoints
	// RateLimits, when set, bounds uploads and expensive actions per
	// session and per client address; ClientIPHeader is the header a
	// reverse proxy names the client in (RATE_LIMIT_CLIENT_IP_HEADER).
	RateLimits     *ratelimit.Limiter
	ClientIPHeader string
	// PublicURL is the base of the links in e-mails.
	PublicURL     string
	MaxFileSize   int64
	DeletionGrace time.Duration
	Log           *slog.Logger
}

// Server is the web app's handler.
type Server struct {
	deps    Deps
	q       *readmodel.Queries
	pages   map[string]*template.Template
	mux     *http.ServeMux
	secure  bool
	origins *http.CrossOriginProtection
}

// New builds the pages and their routes.
func New(deps Deps) (*Server, error) {
	s := &Server{deps: deps, mux: http.NewServeMux(), secure: strings.HasPrefix(deps.PublicURL, "https://"),
		origins: http.NewCrossOriginProtection()}
	if deps.Pool != nil {
		s.q = readmodel.New(deps.Pool)
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.origins.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "This request came from another site and was refused.")
	}))
	s.routes()
	return s, nil
}

// ServeHTTP serves every page with security headers; state-changing
// requests from another origin are refused before any handler runs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "+
		"frame-src 'self'; object-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	s.origins.Handler(s.mux).ServeHTTP(w, r)
}

func (s *Server) routes() {
	static, _ := fs.Sub(staticFiles, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	s.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/documents", http.StatusSeeOther)
	})
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("GET /invite/{token}", s.invitePage)
	s.mux.HandleFunc("POST /invite/{token}", s.acceptInvite)
	s.mux.HandleFunc("GET /forgot", s.forgotPage)
	s.mux.HandleFunc("POST /forgot", s.forgot)
	s.mux.HandleFunc("GET /reset/{token}", s.resetPage)
	s.mux.HandleFunc("POST /reset/{token}", s.reset)

	s.mux.Handle("POST /logout", s.member(s.logout))
	s.mux.Handle("POST /logout-all", s.member(s.logoutAll))
	s.mux.Handle("GET /account", s.member(s.accountPage))
	s.mux.Handle("POST /account/password", s.member(s.changePassword))

	s.mux.Handle("GET /documents", s.member(s.documentsPage))
	s.mux.Handle("GET /documents/export", s.member(s.limited(ratelimit.Expensive, s.export)))
	s.mux.Handle("POST /documents/bulk", s.member(s.limited(ratelimit.Expensive, s.bulk)))
	s.mux.Handle("GET /upload", s.member(s.uploadPage))
	s.mux.Handle("POST /upload", s.member(s.limited(ratelimit.Uploads, s.upload)))
	s.mux.Handle("GET /documents/{id}", s.member(s.documentPage))
	s.mux.Handle("GET /documents/{id}/status", s.member(s.documentStatus))
	s.mux.Handle("GET /documents/{id}/events", s.member(s.documentEvents))
	s.mux.Handle("GET /documents/{id}/original", s.member(s.original))
	s.mux.Handle("PATCH /documents/{id}", s.member(s.correct))
	s.mux.Handle("POST /documents/{id}/fields", s.member(s.correct))
	s.mux.Handle("POST /documents/{id}/reprocess", s.member(s.limited(ratelimit.Expensive, s.reprocess)))
	s.mux.Handle("POST /documents/{id}/delete", s.member(s.deleteDocument))
	s.mux.Handle("POST /documents/{id}/restore", s.member(s.restore))
	s.mux.Handle("GET /spending", s.member(s.spendingPage))
	s.mux.Handle("GET /spending/report", s.member(s.limited(ratelimit.Expensive, s.spendingReport)))

	s.mux.Handle("GET /settings", s.admin(s.settingsPage))
	s.mux.Handle("POST /settings/members/invite", s.admin(s.invite))
	s.mux.Handle("POST /settings/members/{id}/role", s.admin(s.setRole))
	s.mux.Handle("POST /settings/members/{id}/remove", s.admin(s.removeMember))
	s.mux.Handle("POST /settings/keys", s.admin(s.createKey))
	s.mux.Handle("POST /settings/keys/{id}/revoke", s.admin(s.revokeKey))
	s.mux.Handle("GET /settings/webhooks", s.admin(s.webhooksPage))
	s.mux.Handle("POST /settings/webhooks", s.admin(s.createWebhook))
	s.mux.Handle("GET /settings/webhooks/{id}", s.admin(s.webhookPage))
	s.mux.Handle("POST /settings/webhooks/{id}/test", s.admin(s.limited(ratelimit.Expensive, s.testWebhook)))
	s.mux.Handle("POST /settings/webhooks/{id}/delete", s.admin(s.deleteWebhook))
	s.mux.Handle("GET /settings/mailboxes", s.admin(s.mailboxesPage))
	s.mux.Handle("POST /settings/mailboxes", s.admin(s.limited(ratelimit.Expensive, s.linkMailbox)))
	s.mux.Handle("POST /settings/mailboxes/{id}/scrape", s.admin(s.limited(ratelimit.Expensive, s.scrapeMailbox)))
	s.mux.Handle("POST /settings/mailboxes/{id}/unlink", s.admin(s.unlinkMailbox))
	s.mux.Handle("POST /settings/senders", s.admin(s.registerSender))
	s.mux.Handle("POST /settings/senders/remove", s.admin(s.removeSender))
	s.mux.Handle("GET /settings/ereceipts", s.admin(s.ereceiptsPage))
	s.mux.Handle("POST /settings/ereceipts", s.admin(s.saveEReceipts))
	s.mux.Handle("POST /account/notifications", s.member(s.setNotifications))
}

// viewer is the signed-in member of a request.
type viewer struct {
	accounts.Account
	session accounts.Session
	token   string
}

type ctxKey int

const viewerKey ctxKey = 0

func viewerOf(r *http.Request) *viewer {
	v, _ := r.Context().Value(viewerKey).(*viewer)
	return v
}

const sessionCookie = "tally_session"

// member wraps a handler that needs a signed-in member: without a live
// session a page redirects to sign-in, and any other request gets 401.
// State-changing requests must carry the session's CSRF token.
func (s *Server) member(next func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.signedIn(r)
		if err != nil && !errors.Is(err, accounts.ErrNoSession) && !errors.Is(err, accounts.ErrNotFound) {
			s.deps.Log.ErrorContext(r.Context(), "session lookup failed", "err", err)
			s.errorPage(w, r, http.StatusServiceUnavailable, "Sign-in is unavailable right now (the session store does not answer). Try again shortly.")
			return
		}
		if v == nil {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.errorPage(w, r, http.StatusUnauthorized, "Your session has ended. Sign in again.")
			return
		}
		if !safeMethod(r.Method) && !s.validCSRF(r, v.session.CSRF) {
			s.errorPage(w, r, http.StatusForbidden, "The form's security token is missing or wrong. Reload the page and try again.")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r.WithContext(context.WithValue(r.Context(), viewerKey, v)))
	})
}

// admin wraps a handler only admins may use.
func (s *Server) admin(next func(http.ResponseWriter, *http.Request)) http.Handler {
	return s.member(func(w http.ResponseWriter, r *http.Request) {
		if !viewerOf(r).IsAdmin() {
			s.errorPage(w, r, http.StatusForbidden, "This page is for the tenant's admins.")
			return
		}
		next(w, r)
	})
}

func (s *Server) signedIn(r *http.Request) (*viewer, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, accounts.ErrNoSession
	}
	sess, err := s.deps.Sessions.Get(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	acct, err := s.deps.Accounts.Get(r.Context(), sess.AccountID)
	if err != nil {
		return nil, err // removed members lose their sessions at once
	}
	return &viewer{Account: acct, session: sess, token: c.Value}, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// validCSRF compares the request's token (form field or header) with want.
func (s *Server) validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			return false // uploads send the header; their bodies are not parsed for it
		}
		got = r.PostFormValue("csrf")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// cookie makes a cookie of this app's kind: HttpOnly, SameSite=Lax, and
// Secure when the app is served over TLS.
func (s *Server) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secure || r.TLS != nil}
}
