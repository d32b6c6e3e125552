package ratelimit

import (
	"net"
	"net/http"
	"strings"
)

// ClientIP is the address a request is counted by: the connection's peer,
// or, behind a reverse proxy, the last address in header (the one the
// operator named in RATE_LIMIT_CLIENT_IP_HEADER, which that proxy sets).
func ClientIP(r *http.Request, header string) string {
	if header != "" {
		if v := r.Header.Values(header); len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
