package web

import "net/http"

// paths are the first segments of every page's path. The API mounts the
// app on these alone, so its own routes keep their answers (a 405 for a
// wrong method, a 404 as problem details) and no page can shadow one.
var paths = []string{"/{$}", "/static/", "/login", "/logout", "/logout-all", "/invite/", "/forgot", "/reset/",
	"/account", "/account/", "/documents", "/documents/", "/upload", "/spending", "/spending/", "/settings", "/settings/"}

// Mount routes the app's paths on mux to s.
func (s *Server) Mount(mux *http.ServeMux) {
	for _, p := range paths {
		mux.Handle(p, s)
	}
}
