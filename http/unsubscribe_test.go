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
