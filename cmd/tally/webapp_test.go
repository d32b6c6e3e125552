package main

import (
	"context"
	"errors"
	"io"
	stdhttp "net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pageClient is a client with cookies, as a browser has, that shows
// redirects instead of following them.
func pageClient() *stdhttp.Client {
	jar, _ := cookiejar.New(nil)
	return &stdhttp.Client{Jar: jar, CheckRedirect: func(*stdhttp.Request, []*stdhttp.Request) error {
		return stdhttp.ErrUseLastResponse
	}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page sends one request as a browser on the same site would.
func page(t *testing.T, c *stdhttp.Client, method, u string, form url.Values) (int, string, stdhttp.Header) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := stdhttp.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp.Header
}

// TestWebAppFirstStartAndInvite: a fresh `tally all` makes the first
// admin, shows the password once on the terminal (never in the logs) and
// keeps it in DATA_DIR/admin-password; the admin signs in to the pages served beside
// the API, which keeps answering; `tally members invite` without SMTP
// prints a link that opens the invitation page.
func TestWebAppFirstStartAndInvite(t *testing.T) {
	var terminal syncBuffer
	openTerminal = func() (io.WriteCloser, error) { return nopCloser{&terminal}, nil }
	t.Cleanup(func() {
		openTerminal = func() (io.WriteCloser, error) { return nil, errors.New("no terminal in tests") }
	})
	logs := &syncBuffer{}
	in := startAllLogging(t, map[string]string{"LOG_LEVEL": "info"}, logs)
	path := filepath.Join(in.dataDir, "admin-password")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no admin password written on first start: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, info.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	password := strings.TrimSpace(string(raw))
	if n := strings.Count(terminal.String(), password); n != 1 {
		t.Fatalf("the admin password is shown %d times on the terminal, want once", n)
	}
	if !strings.Contains(logs.String(), "made the first admin") || strings.Contains(logs.String(), password) {
		t.Fatal("the logs do not say that the first admin was made, or they hold the password")
	}

	c := pageClient()
	if code, _, h := page(t, c, "GET", in.base+"/", nil); code != stdhttp.StatusSeeOther || h.Get("Location") != "/documents" {
		t.Fatalf("GET /: %d %s", code, h.Get("Location"))
	}
	_, body, _ := page(t, c, "GET", in.base+"/login", nil)
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no sign-in form: %.300s", body)
	}
	if code, _, _ := page(t, c, "POST", in.base+"/login", url.Values{"csrf": {m[1]}, "email": {firstAdmin}, "password": {password}}); code != stdhttp.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	for _, p := range []string{"/documents", "/upload", "/spending", "/settings", "/static/vendor/htmx.min.js"} {
		if code, body, _ := page(t, c, "GET", in.base+p, nil); code != 200 || strings.Contains(body, `src="http`) {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	// The API's routes answer as before, its errors too.
	for _, r := range []struct {
		method, path string
		want         int
	}{{"GET", "/v1/stats", 200}, {"GET", "/healthz", 200}, {"GET", "/openapi.json", 200}, {"GET", "/docs", 200},
		{"POST", "/v1/stats", 405}, {"GET", "/v1/no-such-route", 404}} {
		if code, _ := in.call(r.method, r.path, nil, ""); code != r.want {
			t.Errorf("%s %s: %d, want %d", r.method, r.path, code, r.want)
		}
	}

	var out strings.Builder
	if err := run(context.Background(), []string{"members", "invite", "--tenant", "e2e", "--role", "member", "Bob@Example.com"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`https?://\S+/invite/\S+`).FindString(out.String())
	if link == "" {
		t.Fatalf("no invitation link printed: %q", out.String())
	}
	u, _ := url.Parse(link)
	if code, body, _ := page(t, pageClient(), "GET", in.base+u.Path, nil); code != 200 || !strings.Contains(body, "bob@example.com") {
		t.Fatalf("invitation page: %d %.300s", code, body)
	}
	if err := run(context.Background(), []string{"members", "invite", "--role", "owner", "carl@example.com"}, io.Discard, io.Discard); err == nil {
		t.Error("an unknown role was accepted")
	}
}
