package docsui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// ElementsVersion is the @stoplight/elements version embedded in assets/.
const ElementsVersion = "9.0.25"

const (
	scriptAsset = "web-components.min.js"
	styleAsset  = "styles.min.css"
)

//go:embed assets/web-components.min.js assets/styles.min.css assets/web-components.min.js.LICENSE.txt assets/LICENSE
var assetFS embed.FS

// asset is one embedded file, with a gzip copy made on first demand.
type asset struct {
	contentType string
	body        []byte
	etag        string

	gzOnce sync.Once
	gz     []byte
}

func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(a.body)
		zw.Close()
		a.gz = buf.Bytes()
	})
	return a.gz
}

var assets = loadAssets()

func loadAssets() map[string]*asset {
	types := map[string]string{
		scriptAsset:                         "text/javascript; charset=utf-8",
		styleAsset:                          "text/css; charset=utf-8",
		"web-components.min.js.LICENSE.txt": "text/plain; charset=utf-8",
		"LICENSE":                           "text/plain; charset=utf-8",
	}
	m := make(map[string]*asset, len(types))
	for name, ct := range types {
		b, err := assetFS.ReadFile(path.Join("assets", name))
		if err != nil {
			panic("docsui: missing embedded asset " + name + ": " + err.Error())
		}
		sum := sha256.Sum256(b)
		m[name] = &asset{contentType: ct, body: b, etag: hex.EncodeToString(sum[:8])}
	}
	return m
}

var pageTmpl = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{.Title}}</title>
    <link rel="stylesheet" href="{{.StyleURL}}">
    <script src="{{.ScriptURL}}"></script>
  </head>
  <body style="height: 100vh;">
    <elements-api
      apiDescriptionUrl="{{.SpecURL}}"
      router="hash"
      layout="sidebar"
      tryItCredentialsPolicy="same-origin"
    ></elements-api>
  </body>
</html>
`))

// pageCSP allows only same-origin scripts, styles and requests.
var pageCSP = strings.Join([]string{
	"default-src 'none'",
	"base-uri 'none'",
	"connect-src 'self'",
	"form-action 'none'",
	"frame-ancestors 'none'",
	"img-src 'self' data:",
	"font-src 'self' data:",
	"sandbox allow-same-origin allow-scripts",
	"script-src 'self'",
	"style-src 'self' 'unsafe-inline'",
}, "; ")

// Handler serves the docs page at prefix (e.g. "/docs") and its assets under prefix+"/assets/...". specURL is the OpenAPI document's URL path, e.g. "/openapi.json".
//
// The page is also served at prefix+"/". An empty title becomes
// "API Reference". Paths are matched against the full r.URL.Path, so mount
// the handler for both prefix and prefix+"/" and without http.StripPrefix.
// Only GET and HEAD are allowed; anything else under prefix gets 405 and
// unknown paths get 404.
func Handler(prefix, specURL, title string) http.Handler {
	if specURL == "" {
		panic("docsui: empty specURL")
	}
	if title == "" {
		title = "API Reference"
	}
	prefix = strings.TrimRight(prefix, "/")
	if prefix != "" && !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	assetPrefix := prefix + "/assets/"

	var page bytes.Buffer
	err := pageTmpl.Execute(&page, struct {
		Title, SpecURL, ScriptURL, StyleURL string
	}{
		Title:   title,
		SpecURL: specURL,
		// The version query busts the long asset cache on upgrades.
		ScriptURL: assetPrefix + scriptAsset + "?v=" + ElementsVersion,
		StyleURL:  assetPrefix + styleAsset + "?v=" + ElementsVersion,
	})
	if err != nil {
		panic("docsui: render page: " + err.Error())
	}
	pageBody := page.Bytes()

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		var a *asset
		switch {
		case p == prefix || p == prefix+"/":
		case strings.HasPrefix(p, assetPrefix):
			if a = assets[p[len(assetPrefix):]]; a == nil {
				http.NotFound(w, r)
				return
			}
		default:
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if a == nil {
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			h.Set("Content-Security-Policy", pageCSP)
			write(w, r, pageBody)
			return
		}
		serveAsset(w, r, a)
	})
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = a.gzipped(), a.etag+"-gz"
		h.Set("Content-Encoding", "gzip")
	}
	etag = `"` + etag + `"`
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	write(w, r, body)
}

func write(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip with a
// non-zero quality, explicitly or via "*" (an explicit gzip entry wins).
func acceptsGzip(v string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, part := range strings.Split(v, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for _, prm := range strings.Split(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(prm), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					q = f
				}
			}
		}
		if coding == "gzip" {
			gzipQ = q
		} else {
			starQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
