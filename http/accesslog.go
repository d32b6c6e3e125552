package http

import (
	stdhttp "net/http"
	"strings"
)

// loggedPath is what the access log says of a request's path: the route
// it matched ("/v1/users/{email}/notifications"), never the values in it,
// which may be e-mail addresses; an unmatched path has every segment with
// an '@' (raw or %40-encoded) replaced. The query string is never logged.
func loggedPath(r *stdhttp.Request) string {
	if r.Pattern != "" {
		if _, path, ok := strings.Cut(r.Pattern, " "); ok {
			return path // the pattern names the method too; the log has it already
		}
		return r.Pattern
	}
	segments := strings.Split(r.URL.EscapedPath(), "/")
	for i, seg := range segments {
		if strings.Contains(seg, "@") || strings.Contains(strings.ToLower(seg), "%40") {
			segments[i] = "{redacted}"
		}
	}
	return strings.Join(segments, "/")
}
