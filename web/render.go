package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// page is what every template gets.
type page struct {
	Title  string
	Nav    string
	Viewer *viewer
	CSRF   string
	Flash  string
	Error  string
	Data   any
}

var funcs = template.FuncMap{
	"lower": strings.ToLower,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"add":     func(a, b int) int { return a + b },
	"list":    func(s ...string) []string { return s },
}

// parseTemplates makes one template set per page: the layout with the
// page's blocks in it.
func (s *Server) parseTemplates() error {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return err
	}
	s.pages = map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", n, err)
		}
		s.pages[name] = t
	}
	return nil
}

// render writes a page, or only its "content" block... for htmx requests
// that ask for a fragment by name (HX-Target).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := s.pages[name]
	if t == nil {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	if v := viewerOf(r); v != nil {
		p.Viewer, p.CSRF = v, v.session.CSRF
	}
	tmpl := "layout.html"
	if frag := r.Header.Get("HX-Target"); frag != "" && t.Lookup(frag) != nil && r.Header.Get("HX-Request") == "true" {
		tmpl = frag
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, p); err != nil {
		s.deps.Log.ErrorContext(r.Context(), "render page failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorPage answers with a short page (or the bare message for scripts).
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.Header.Get("HX-Request") == "true" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(msg))
		return
	}
	s.render(w, r, status, "error", page{Title: http.StatusText(status), Error: msg})
}

// Before sign-in there is no session to hold a CSRF token, so the
// sign-in, invitation and reset forms use a double-submit token: a random
// value in an HttpOnly cookie and the same in the form. A page on another
// origin can neither read the cookie nor set it.
const formCookie = "tally_form"

func (s *Server) formToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(formCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, s.cookie(r, formCookie, tok, 0))
	return tok
}

func (s *Server) validFormToken(r *http.Request) bool {
	c, err := r.Cookie(formCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}
