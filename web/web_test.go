package web_test

import (
	"context"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"tally/accounts"
	"tally/apikeys"
	"tally/ereceipts"
	"tally/mail"
	"tally/mail/mailtest"
	"tally/mailbox"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/search"
	"tally/web"
	"tally/webhooks"
)

type app struct {
	keys  *apikeys.Keys
	hooks *webhooks.Store
	t     *testing.T
	srv   *httptest.Server
	store *accounts.Store
	smtp  *mailtest.Server
}

// start serves the app; each of opts may change its dependencies.
func start(t *testing.T, opts ...func(*web.Deps)) *app {
	t.Helper()
	_, pool := pgtest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	smtp := mailtest.Start(t)
	sender, err := mail.NewSender(mail.Config{URL: smtp.URL(), From: "Tally <tally@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	store := accounts.NewStore(pool)
	// Throttles of their own per test run: Redis outlives tests.
	run := uuid.NewString()
	a := &app{t: t, store: store, smtp: smtp, keys: apikeys.New(pool)}
	var h http.Handler
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(a.srv.Close)
	hooks, err := webhooks.Open(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	links, err := mailbox.NewLinks(context.Background(), pool, mailbox.Limits{DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a.hooks = hooks
	deps := web.Deps{Accounts: store, Sessions: accounts.NewSessions(rdb, accounts.SessionConfig{}),
		LoginThrottle: accounts.NewThrottle(rdb, "login-"+run, 5, time.Minute), AddressThrottle: accounts.NewThrottle(rdb, "ip-"+run, 100, time.Minute),
		Mailer: sender, Pool: pool, Search: search.New(pool), Personal: personal.New(pool), PublicURL: a.srv.URL,
		APIKeys: apikeys.New(pool), Webhooks: hooks, Mailboxes: &mailbox.Service{Links: links}, EReceipts: ereceipts.NewStore(pool),
		Log: slog.New(slog.DiscardHandler), MaxFileSize: 1 << 20}
	for _, o := range opts {
		o(&deps)
	}
	s, err := web.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	h = s
	return a
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	a *app
	c *http.Client
}

func (a *app) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{a: a, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path string, form url.Values, headers ...string) (int, string, http.Header) {
	b.a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.a.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// Browsers send these with every form; CrossOriginProtection reads them.
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the CSRF token of the form on page path.
func (b *browser) token(path string) string {
	b.a.t.Helper()
	_, body, _ := b.do("GET", path, nil)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.a.t.Fatalf("no CSRF token on %s: %.300s", path, body)
	}
	return m[1]
}

func (b *browser) login(email, password string) int {
	b.a.t.Helper()
	code, _, _ := b.do("POST", "/login", url.Values{"csrf": {b.token("/login")}, "email": {email}, "password": {password}})
	return code
}

func TestSignInSessionsAndRoles(t *testing.T) {
	a := start(t)
	ctx := context.Background()
	if _, err := a.store.Create(ctx, "acme", "admin@example.com", "Ada", accounts.RoleAdmin, "admin password 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Create(ctx, "acme", "member@example.com", "Max", accounts.RoleMember, "member password 1"); err != nil {
		t.Fatal(err)
	}
	anon := a.browser()
	if code, _, h := anon.do("GET", "/documents", nil); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("signed out /documents = %d %s", code, h.Get("Location"))
	}
	if code, _, _ := anon.do("POST", "/login", url.Values{"email": {"admin@example.com"}, "password": {"admin password 1"}}); code != http.StatusForbidden {
		t.Fatalf("sign-in without the form token = %d, want 403", code)
	}

	admin := a.browser()
	if code := admin.login("admin@example.com", "wrong password"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password = %d", code)
	}
	code, _, h := admin.do("POST", "/login", url.Values{"csrf": {admin.token("/login")}, "email": {"Admin@Example.com"},
		"password": {"admin password 1"}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", code)
	}
	if sc := h.Get("Set-Cookie"); !strings.Contains(sc, "tally_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Errorf("session cookie attributes: %s", sc)
	}
	u, _ := url.Parse(a.srv.URL)
	var session *http.Cookie
	for _, c := range admin.c.Jar.Cookies(u) {
		if c.Name == "tally_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if code, body, _ := admin.do("GET", "/settings", nil); code != 200 || !strings.Contains(body, "member@example.com") {
		t.Fatalf("admin /settings = %d", code)
	}

	member := a.browser()
	if code := member.login("member@example.com", "member password 1"); code != http.StatusSeeOther {
		t.Fatalf("member sign-in = %d", code)
	}
	if code, _, _ := member.do("GET", "/documents", nil); code != 200 {
		t.Fatalf("member /documents = %d", code)
	}
	if code, _, _ := member.do("GET", "/settings", nil); code != http.StatusForbidden {
		t.Fatalf("member /settings = %d, want 403", code)
	}
	tok := member.token("/documents")
	if code, _, _ := member.do("POST", "/settings/members/invite", url.Values{"csrf": {tok}, "email": {"x@example.com"}, "role": {"admin"}}); code != http.StatusForbidden {
		t.Fatalf("member inviting an admin = %d, want 403", code)
	}

	// CSRF: a state change without the session's token, or from another
	// origin with it, is refused and changes nothing.
	adminTok := admin.token("/settings")
	for _, c := range []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"no token", url.Values{"email": {"eve@example.com"}, "role": {"admin"}}, nil},
		{"another session's token", url.Values{"csrf": {tok}, "email": {"eve@example.com"}, "role": {"admin"}}, nil},
		{"cross-site", url.Values{"csrf": {adminTok}, "email": {"eve@example.com"}, "role": {"admin"}},
			[]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
	} {
		if code, _, _ := admin.do("POST", "/settings/members/invite", c.form, c.headers...); code != http.StatusForbidden {
			t.Errorf("%s: invite = %d, want 403", c.name, code)
		}
	}
	if inv, _ := a.store.Invitations(ctx, "acme"); len(inv) != 0 {
		t.Fatalf("a refused request made invitations: %v", inv)
	}

	// Sign out everywhere ends every session of the account.
	other := a.browser()
	other.login("admin@example.com", "admin password 1")
	if code, _, _ := admin.do("POST", "/logout-all", url.Values{"csrf": {adminTok}}); code != http.StatusSeeOther {
		t.Fatalf("logout-all = %d", code)
	}
	if code, _, _ := other.do("GET", "/settings", nil); code != http.StatusSeeOther {
		t.Fatalf("another session after signing out everywhere = %d, want a redirect to sign-in", code)
	}

	// Throttle: after five failures the address waits, even with the
	// right password.
	eve := a.browser()
	for range 5 {
		eve.login("member@example.com", "guess guess guess")
	}
	if code := eve.login("member@example.com", "member password 1"); code != http.StatusTooManyRequests {
		t.Fatalf("sign-in after five failures = %d, want 429", code)
	}
}

var link = regexp.MustCompile(`http://127\.0\.0\.1:\d+(/(?:invite|reset)/[A-Za-z0-9_-]+)`)

func mailedLink(t *testing.T, m mailtest.Received) string {
	t.Helper()
	raw, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(m.Data))))
	match := link.FindStringSubmatch(string(raw))
	if match == nil {
		t.Fatalf("no link in the e-mail:\n%s", m.Data)
	}
	return match[1]
}

func TestInvitationAndReset(t *testing.T) {
	a := start(t)
	ctx := context.Background()
	if _, err := a.store.Create(ctx, "acme", "admin@example.com", "Ada", accounts.RoleAdmin, "admin password 1"); err != nil {
		t.Fatal(err)
	}
	admin := a.browser()
	admin.login("admin@example.com", "admin password 1")
	if code, _, h := admin.do("POST", "/settings/members/invite", url.Values{"csrf": {admin.token("/settings")},
		"email": {"Bob@Example.com"}, "role": {"member"}}); code != http.StatusSeeOther {
		t.Fatalf("invite = %d %v", code, h)
	}
	msgs := a.smtp.WaitFor(t, 1, 10*time.Second)
	if msgs[0].To[0] != "bob@example.com" {
		t.Fatalf("invitation went to %v", msgs[0].To)
	}
	invite := mailedLink(t, msgs[0])

	bob := a.browser()
	tok := bob.token(invite)
	if code, _, _ := bob.do("POST", invite, url.Values{"csrf": {tok}, "name": {"Bob"}, "password": {"short"}, "password2": {"short"}}); code != http.StatusBadRequest {
		t.Fatalf("short password = %d", code)
	}
	if code, _, _ := bob.do("POST", invite, url.Values{"csrf": {tok}, "name": {"Bob"}, "password": {"bobs password 1"}, "password2": {"bobs password 1"}}); code != http.StatusSeeOther {
		t.Fatalf("accept = %d", code)
	}
	if code, body, _ := bob.do("GET", "/account", nil); code != 200 || !strings.Contains(body, "bob@example.com") {
		t.Fatalf("after accepting: /account = %d", code)
	}
	if code, _, _ := a.browser().do("GET", invite, nil); code != http.StatusNotFound {
		t.Fatalf("a used invitation link = %d, want 404", code)
	}

	// Reset: the same answer for known and unknown addresses; the link
	// works once and ends the other sessions.
	anon := a.browser()
	for _, addr := range []string{"nobody@example.com", "bob@example.com"} {
		if code, body, _ := anon.do("POST", "/forgot", url.Values{"csrf": {anon.token("/forgot")}, "email": {addr}}); code != 200 ||
			!strings.Contains(body, "If the address has an account") {
			t.Fatalf("forgot %s = %d", addr, code)
		}
	}
	msgs = a.smtp.WaitFor(t, 2, 10*time.Second)
	if len(msgs) != 2 || msgs[1].To[0] != "bob@example.com" {
		t.Fatalf("reset e-mails: %d", len(msgs))
	}
	reset := mailedLink(t, msgs[1])
	tok = anon.token(reset)
	if code, _, _ := anon.do("POST", reset, url.Values{"csrf": {tok}, "password": {"bobs new password"}, "password2": {"bobs new password"}}); code != http.StatusSeeOther {
		t.Fatalf("reset = %d", code)
	}
	if code, _, _ := bob.do("GET", "/account", nil); code != http.StatusSeeOther {
		t.Fatalf("the old session after a reset = %d, want a redirect to sign-in", code)
	}
	if code, _, _ := anon.do("POST", reset, url.Values{"csrf": {tok}, "password": {"again password"}, "password2": {"again password"}}); code != http.StatusBadRequest {
		t.Fatalf("second use of a reset link = %d", code)
	}
	if code := a.browser().login("bob@example.com", "bobs new password"); code != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password = %d", code)
	}
}

var newKey = regexp.MustCompile(`id="new-key">([^<]+)<`)

// TestAPIKeysOnSettings: an admin makes a key, sees it once and revokes
// it; another tenant's key cannot be revoked from here; a member may do
// neither.
func TestAPIKeysOnSettings(t *testing.T) {
	a := start(t)
	ctx := context.Background()
	if _, err := a.store.Create(ctx, "acme", "admin@example.com", "Ada", accounts.RoleAdmin, "admin password 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Create(ctx, "acme", "member@example.com", "Max", accounts.RoleMember, "member password 1"); err != nil {
		t.Fatal(err)
	}
	admin := a.browser()
	admin.login("admin@example.com", "admin password 1")
	code, body, _ := admin.do("POST", "/settings/keys", url.Values{"csrf": {admin.token("/settings")}})
	m := newKey.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("make a key: %d %.300s", code, body)
	}
	if tenant, err := a.keys.Tenant(ctx, m[1]); err != nil || tenant != "acme" {
		t.Fatalf("the new key opens %q, %v", tenant, err)
	}
	if _, body, _ := admin.do("GET", "/settings", nil); strings.Contains(body, m[1]) || !strings.Contains(body, m[1][:8]) {
		t.Fatal("the settings page shows the whole key again, or not its prefix")
	}
	keys, _ := a.keys.List(ctx, "acme")
	other, err := a.keys.Create(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	otherKeys, _ := a.keys.List(ctx, "other")

	member := a.browser()
	member.login("member@example.com", "member password 1")
	tok := member.token("/account")
	if code, _, _ := member.do("POST", "/settings/keys", url.Values{"csrf": {tok}}); code != http.StatusForbidden {
		t.Errorf("a member made a key: %d", code)
	}
	if code, _, _ := member.do("POST", "/settings/keys/"+keys[0].ID.String()+"/revoke", url.Values{"csrf": {tok}}); code != http.StatusForbidden {
		t.Errorf("a member revoked a key: %d", code)
	}
	if code, _, _ := admin.do("POST", "/settings/keys/"+otherKeys[0].ID.String()+"/revoke", url.Values{"csrf": {admin.token("/settings")}}); code != http.StatusNotFound {
		t.Errorf("another tenant's key: %d, want 404", code)
	}
	if _, err := a.keys.Tenant(ctx, other); err != nil {
		t.Errorf("another tenant's key no longer works: %v", err)
	}
	if code, _, _ := admin.do("POST", "/settings/keys/"+keys[0].ID.String()+"/revoke", url.Values{"csrf": {admin.token("/settings")}}); code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", code)
	}
	if _, err := a.keys.Tenant(ctx, m[1]); err == nil {
		t.Error("a revoked key still opens the API")
	}
}
