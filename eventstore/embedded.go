package eventstore

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedConfig configures the in-process NATS server used when no
// NATS_URL is given.
type EmbeddedConfig struct {
	// Dir holds the JetStream file store.
	Dir string
	// Listen is "host:port" to let other processes connect; empty keeps
	// the server reachable from this process only.
	Listen string
	// SyncAlways fsyncs every write before acknowledging it. A single
	// server holds the only copy of the events, so this is the safe
	// default; without it the file store syncs every two minutes and an
	// acknowledged event can be lost on power failure.
	SyncAlways bool
}

// Embedded is a running in-process server.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts a JetStream server in this process.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	opts := &server.Options{
		ServerName: "tally-embedded",
		JetStream:  true,
		StoreDir:   cfg.Dir,
		NoSigs:     true,
		NoLog:      true,
		DontListen: cfg.Listen == "",
	}
	if cfg.SyncAlways {
		opts.SyncAlways = true
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats listen address %q: %w", cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("embedded nats listen port %q: %w", port, err)
		}
		opts.Host, opts.Port = host, p
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats in %s: not ready after 30s", cfg.Dir)
	}
	return &Embedded{srv: srv}, nil
}

// Connect opens a client connection to the embedded server, in-process
// when it does not listen.
func (e *Embedded) Connect(name string) (*nats.Conn, error) {
	nc, err := nats.Connect(e.srv.ClientURL(), nats.InProcessServer(e.srv), nats.Name(name), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to embedded nats: %w", err)
	}
	return nc, nil
}

// ClientURL is the URL other processes use when the server listens.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Shutdown stops the server and waits for it.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
