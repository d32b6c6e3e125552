// Package docsui serves an API reference page for an OpenAPI document that
// works fully offline: the page and every script and stylesheet it loads come
// from this binary, never from a CDN.
//
// The renderer is Stoplight Elements (npm package @stoplight/elements, pinned
// to ElementsVersion, Apache-2.0), whose web-components.min.js and
// styles.min.css are embedded from assets/ with go:embed. assets/VERSION names
// the exact package version, checksums and how to update it.
//
// huma's built-in docs page loads the same renderer from unpkg.com; disable it
// (huma.Config.DocsPath = "") and mount Handler instead:
//
//	h := docsui.Handler("/docs", "/openapi.json", "Tally API")
//	mux.Handle("/docs", h)
//	mux.Handle("/docs/", h)
//
// Handler routes on the full request path, so mount it without
// http.StripPrefix.
package docsui
