package config

import (
	"net"
	"path/filepath"
)

// EmbeddedNATS is how clients authenticate to the embedded NATS server's
// NATS_EMBEDDED_LISTEN address. See docs/security.md#embedded-nats.
type EmbeddedNATS struct {
	// Auth is NATS_EMBEDDED_AUTH: "token" makes every client of
	// NATS_EMBEDDED_LISTEN present the token in DataDir/nats-listen.token
	// (made with mode 0600 on the first start and kept, so other
	// machines' NATS_URL=nats://TOKEN@host:port keeps working); "none",
	// the default, is allowed on a loopback address only.
	Auth string
}

const (
	NATSAuthNone  = "none"
	NATSAuthToken = "token"
)

func (n *EmbeddedNATS) read(r *envReader) {
	r.str("NATS_EMBEDDED_AUTH", &n.Auth)
}

func (c *Config) embeddedNATSProblems(v *validator) {
	switch c.EmbeddedNATS.Auth {
	case "", NATSAuthNone, NATSAuthToken:
	default:
		v.fail("NATS_EMBEDDED_AUTH", "%q must be none or token", c.EmbeddedNATS.Auth)
		return
	}
	if c.NATSEmbeddedListen == "" || c.EmbeddedNATS.Auth == NATSAuthToken {
		return
	}
	host, _, err := net.SplitHostPort(c.NATSEmbeddedListen)
	if err != nil {
		return // reported with NATS_EMBEDDED_LISTEN
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		v.fail("NATS_EMBEDDED_LISTEN", "%q is reachable from other machines: set NATS_EMBEDDED_AUTH=token so its clients need a token, or listen on 127.0.0.1", c.NATSEmbeddedListen)
	}
}

func (n EmbeddedNATS) settings() []setting {
	auth := n.Auth
	if auth == "" {
		auth = NATSAuthNone
	}
	return []setting{{"NATS_EMBEDDED_AUTH", auth}}
}

// NATSListenTokenPath is where the token of NATS_EMBEDDED_AUTH=token is kept.
func (c *Config) NATSListenTokenPath() string { return filepath.Join(c.DataDir, "nats-listen.token") }
