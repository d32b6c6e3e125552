package docsui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	h := Handler("/docs", "/openapi.json", "Tally <API>")
	mux := http.NewServeMux()
	mux.Handle("/docs", h)
	mux.Handle("/docs/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// get fetches url with Accept-Encoding: identity (overridable via hdr) and
// returns the raw body; the client does not decode gzip it did not ask for.
func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

var srcRe = regexp.MustCompile(`(?i)<(script|link)\b[^>]*\b(src|href)\s*=\s*"([^"]*)"`)

func TestPage(t *testing.T) {
	srv := newServer(t)
	for _, p := range []string{"/docs", "/docs/"} {
		resp, body := get(t, srv.URL+p, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", p, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		page := string(body)
		for _, want := range []string{
			`apiDescriptionUrl="/openapi.json"`,
			`router="hash"`,
			`layout="sidebar"`,
			"<elements-api",
			"<title>Tally &lt;API&gt;</title>",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("GET %s: page lacks %q:\n%s", p, want, page)
			}
		}
		if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
			t.Errorf("GET %s: page references an absolute URL:\n%s", p, page)
		}
		refs := srcRe.FindAllStringSubmatch(page, -1)
		if len(refs) != 2 {
			t.Fatalf("GET %s: want 2 script/style refs, got %v", p, refs)
		}
		for _, m := range refs {
			if !strings.HasPrefix(m[3], "/docs/assets/") {
				t.Errorf("GET %s: %s %s=%q is not a local asset", p, m[1], m[2], m[3])
			}
			// Each referenced URL must itself be served.
			r, b := get(t, srv.URL+m[3], nil)
			if r.StatusCode != http.StatusOK || len(b) == 0 {
				t.Errorf("GET %s: status %d, %d bytes", m[3], r.StatusCode, len(b))
			}
		}
	}
}

func TestAssets(t *testing.T) {
	srv := newServer(t)
	for name, wantCT := range map[string]string{
		"web-components.min.js":             "text/javascript",
		"styles.min.css":                    "text/css",
		"web-components.min.js.LICENSE.txt": "text/plain",
		"LICENSE":                           "text/plain",
	} {
		url := srv.URL + "/docs/assets/" + name
		resp, body := get(t, url, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", name, resp.StatusCode)
		}
		if len(body) == 0 {
			t.Errorf("GET %s: empty body", name)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantCT) {
			t.Errorf("GET %s: Content-Type %q, want %s", name, ct, wantCT)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("GET %s: Cache-Control %q", name, cc)
		}
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("GET %s identity: Content-Encoding %q", name, ce)
		}

		// gzip variant decodes to the same bytes.
		gzResp, gzBody := get(t, url, map[string]string{"Accept-Encoding": "gzip"})
		if gzResp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s gzip: Content-Encoding %q", name, gzResp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(gzBody))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, body) {
			t.Errorf("GET %s gzip: decoded body differs", name)
		}
		if gzResp.Header.Get("ETag") == resp.Header.Get("ETag") {
			t.Errorf("GET %s: gzip and identity share ETag", name)
		}

		// Conditional GET.
		nm, _ := get(t, url, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
		if nm.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match: status %d", name, nm.StatusCode)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	srv := newServer(t)
	for _, p := range []string{"/docs/assets/nope.js", "/docs/assets/", "/docs/assets/../docsui.go", "/docs/other"} {
		resp, _ := get(t, srv.URL+p, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
	}
	resp, err := http.Post(srv.URL+"/docs", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /docs: status %d, want 405", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodHead, srv.URL+"/docs/assets/styles.min.css", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength <= 0 {
		t.Errorf("HEAD asset: status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
}

func TestRootPrefix(t *testing.T) {
	h := Handler("", "/openapi.json", "")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `href="/assets/styles.min.css`) {
		t.Fatalf("root prefix: %d\n%s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/assets/web-components.min.js", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("root prefix asset: %d", rec.Code)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for v, want := range map[string]bool{
		"":                  false,
		"identity":          false,
		"gzip":              true,
		"br, gzip;q=0.5":    true,
		"gzip;q=0":          false,
		"*":                 true,
		"gzip;q=0, *":       false,
		"deflate, *;q=0":    false,
		"GZIP ; Q=1":        true,
		"x-gzip2, identity": false,
	} {
		if got := acceptsGzip(v); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestVersionFileMatches(t *testing.T) {
	b, err := os.ReadFile("assets/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "@stoplight/elements") || !strings.Contains(string(b), "version: "+ElementsVersion+"\n") {
		t.Errorf("assets/VERSION does not name @stoplight/elements %s:\n%s", ElementsVersion, b)
	}
}
