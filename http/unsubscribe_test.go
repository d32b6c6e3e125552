package http_test

import (
	"context"
	"io"
	stdhttp "net/http"
	"net/url"
	"strings"
	"testing"

	tallyhttp "tally/http"
	"tally/notify"
	"tally/readmodel"
)

// RFC 8058: fetching the link changes nothing (scanners fetch every
// link); its page's button, or a mail client's one-click POST, does.
func TestUnsubscribeIsPostOnly(t *testing.T) {
	var links *notify.Links
	h := newHarness(t, nil, func(d *tallyhttp.Deps) {
		links = notify.NewLinks("http://tally.test", readmodel.New(d.Pool))
		d.Links, d.Reports = links, &notify.Reporter{Queries: readmodel.New(d.Pool)}
	})
	token, err := links.Token(context.Background(), tenantOf(h, "a"), "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	enabled := func() any {
		_, got := h.do("GET", "/v1/users/ann@example.com/notifications", "a", nil, "")
		return got["enabled"]
	}
	link := "/v1/unsubscribe?token=" + url.QueryEscape(token)
	resp, err := stdhttp.Get(h.srv.URL + link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<form method=post") || !strings.Contains(string(page), "<button") {
		t.Fatalf("GET: %d %s", resp.StatusCode, page)
	}
	if enabled() != true {
		t.Fatal("fetching the link unsubscribed the user")
	}
	// The one-click POST of RFC 8058.
	code, _ := h.do("POST", link, "", strings.NewReader("List-Unsubscribe=One-Click"), "application/x-www-form-urlencoded")
	if code != 200 || enabled() != false {
		t.Fatalf("POST: %d, enabled %v", code, enabled())
	}
	for _, bad := range []string{"nonsense", token + "x"} {
		if code, _ := h.do("POST", "/v1/unsubscribe?token="+url.QueryEscape(bad), "", nil, ""); code != 400 {
			t.Errorf("token %.20q: %d, want 400", bad, code)
		}
	}
}

// The confirmation link works like the unsubscribe link (GET shows a
// button, POST agrees); asking for e-mails again after an unsubscribe
// drops the consent; an erased user cannot be asked for again.
func TestConfirmLinkAndResubscribe(t *testing.T) {
	var links *notify.Links
	h := newHarness(t, nil, func(d *tallyhttp.Deps) {
		links = notify.NewLinks("http://tally.test", readmodel.New(d.Pool))
		d.Links, d.Reports = links, &notify.Reporter{Queries: readmodel.New(d.Pool)}
	})
	ctx := context.Background()
	settings := func(email string) map[string]any {
		_, got := h.do("GET", "/v1/users/"+email+"/notifications", "a", nil, "")
		return got
	}
	confirm, err := links.Confirm(ctx, tenantOf(h, "a"), "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(confirm, "http://tally.test")
	if code, _ := h.do("GET", path, "", nil, ""); code != 200 || settings("ann@example.com")["confirmed"] != false {
		t.Fatalf("GET: %d %v", code, settings("ann@example.com"))
	}
	if code, _ := h.do("POST", path, "", nil, ""); code != 200 || settings("ann@example.com")["confirmed"] != true {
		t.Fatalf("POST: %d %v", code, settings("ann@example.com"))
	}
	// An unsubscribe link is no confirmation link.
	unsub, _ := links.Token(ctx, tenantOf(h, "a"), "ann@example.com")
	if code, _ := h.do("POST", "/v1/confirm-email?token="+url.QueryEscape(unsub), "", nil, ""); code != 400 {
		t.Fatalf("an unsubscribe token confirmed: %d", code)
	}
	h.do("PUT", "/v1/users/ann@example.com/notifications", "a", strings.NewReader(`{"enabled": false}`), "application/json")
	code, got := h.do("PUT", "/v1/users/ann@example.com/notifications", "a", strings.NewReader(`{"enabled": true}`), "application/json")
	if code != 200 || got["enabled"] != true || got["confirmed"] != false {
		t.Fatalf("asking again after an unsubscribe: %d %v", code, got)
	}

	h.upload("/v1/documents", "a", []byte(pdf), form{"email": "eve@example.com"})
	if code, body := h.do("DELETE", "/v1/users/eve@example.com", "a", nil, ""); code >= 300 {
		t.Fatalf("erase: %d %v", code, body)
	}
	if code, body := h.do("PUT", "/v1/users/eve@example.com/notifications", "a", strings.NewReader(`{"enabled": true}`), "application/json"); code != 409 {
		t.Fatalf("an erased user asked for again: %d %v", code, body)
	}
}
