package eventstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Files a running embedded server leaves in its announce directory, so that
// the admin commands of the same installation find it without NATS_URL.
const (
	// URLFile holds the client URL of the running embedded server.
	URLFile = "nats.url"
	// TokenFile holds the token its clients present (mode 0600): only the
	// user who runs Tally can read it, and so only that user can connect.
	TokenFile = "nats.token"
)

// ErrNoRunningServer: no embedded server announced itself in the directory.
var ErrNoRunningServer = errors.New("no running embedded nats-server found")

// EmbeddedConfig configures the in-process NATS server used when no
// NATS_URL is given.
type EmbeddedConfig struct {
	// Dir holds the JetStream file store.
	Dir string
	// Listen is "host:port" to let other processes connect. Without
	// Token only a loopback address is accepted: anyone who can reach the
	// port could read and write every event. Empty: the server listens on
	// a free loopback port and asks every client for a token of its own,
	// written to AnnounceDir.
	Listen string
	// Token, with Listen, is what every client must present (see
	// EnsureTokenFile); it is announced like the one made for an empty
	// Listen.
	Token string
	// AnnounceDir receives URLFile and TokenFile while the server runs;
	// empty announces nothing.
	AnnounceDir string
	// SyncAlways fsyncs every write before acknowledging it. A single
	// server holds the only copy of the events, so this is the safe
	// default; without it the file store syncs every two minutes and an
	// acknowledged event can be lost on power failure.
	SyncAlways bool
}

// Embedded is a running in-process server.
type Embedded struct {
	srv         *server.Server
	token       string
	announceDir string
}

// StartEmbedded starts a JetStream server in this process.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	opts := &server.Options{
		ServerName: "tally-embedded",
		JetStream:  true,
		StoreDir:   cfg.Dir,
		NoSigs:     true,
		NoLog:      true,
	}
	if cfg.SyncAlways {
		opts.SyncAlways = true
	}
	e := &Embedded{}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats listen address %q: %w", cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("embedded nats listen port %q: %w", port, err)
		}
		if cfg.Token == "" && !IsLoopback(host) {
			return nil, fmt.Errorf("embedded nats listen address %q is not a loopback address: "+
				"it needs a token (NATS_EMBEDDED_AUTH=token), or anyone who reaches it reads and writes every event", cfg.Listen)
		}
		opts.Host, opts.Port = host, p
		if cfg.Token != "" {
			e.token = cfg.Token
			opts.Authorization = cfg.Token
		}
	} else {
		token, err := newToken()
		if err != nil {
			return nil, err
		}
		e.token = token
		opts.Host, opts.Port, opts.Authorization = "127.0.0.1", server.RANDOM_PORT, token
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
	e.srv = srv
	if cfg.AnnounceDir != "" {
		if err := announce(cfg.AnnounceDir, srv.ClientURL(), e.token); err != nil {
			e.Shutdown()
			return nil, err
		}
		e.announceDir = cfg.AnnounceDir
	}
	return e, nil
}

// IsLoopback reports whether a listen host is reachable from this machine
// only: a loopback IP or "localhost". An empty host or 0.0.0.0 listens on
// every interface.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// EnsureTokenFile reads the token in path, or makes one there (mode 0600)
// on the first start. It is kept across restarts, so clients on other
// machines keep their NATS_URL; a file others may read is refused.
func EnsureTokenFile(path string) (string, error) {
	if info, err := os.Stat(path); err == nil {
		if info.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("%s has mode %04o: a token file must be readable by its owner only (chmod 600)", path, info.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		if t := strings.TrimSpace(string(b)); len(t) >= 16 {
			return t, nil
		}
		return "", fmt.Errorf("%s holds no token (at least 16 characters)", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	token, err := newToken()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", err
	}
	// Written aside and linked into place: a process starting beside this
	// one finds the whole token or none, and the first link wins.
	tmp := fmt.Sprintf("%s.%s.tmp", path, token[:8])
	if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return EnsureTokenFile(path)
		}
		return "", err
	}
	return token, nil
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("embedded nats token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// announce writes the token first (0600) and the URL last, each by rename,
// so a reader that finds the URL finds the token of the same server.
func announce(dir, url, token string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("announce embedded nats in %s: %w", dir, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, TokenFile), token+"\n", 0o600); err != nil {
		return fmt.Errorf("announce embedded nats: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, URLFile), url+"\n", 0o644); err != nil {
		return fmt.Errorf("announce embedded nats: %w", err)
	}
	return nil
}

func writeFileAtomic(path, content string, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Connect opens a client connection to the embedded server, in-process.
func (e *Embedded) Connect(name string) (*nats.Conn, error) {
	opts := []nats.Option{nats.InProcessServer(e.srv), nats.Name(name), nats.MaxReconnects(-1)}
	if e.token != "" {
		opts = append(opts, nats.Token(e.token))
	}
	nc, err := nats.Connect(e.srv.ClientURL(), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded nats: %w", err)
	}
	return nc, nil
}

// ClientURL is the URL other processes use.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Shutdown stops the server, waits for it and withdraws its announcement.
func (e *Embedded) Shutdown() {
	if e.announceDir != "" {
		// Only our own announcement: a newer server on the same directory
		// may have replaced it.
		if url, _, err := readAnnouncement(e.announceDir); err == nil && url == e.srv.ClientURL() {
			_ = os.Remove(filepath.Join(e.announceDir, URLFile))
			_ = os.Remove(filepath.Join(e.announceDir, TokenFile))
		}
	}
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

func readAnnouncement(dir string) (url, token string, err error) {
	u, err := os.ReadFile(filepath.Join(dir, URLFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("%w in %s", ErrNoRunningServer, dir)
	}
	if err != nil {
		return "", "", err
	}
	t, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	return strings.TrimSpace(string(u)), strings.TrimSpace(string(t)), nil
}

// ConnectAnnounced connects to the embedded server that announced itself in
// dir. ErrNoRunningServer when none did; an error naming the file when the
// announced server does not answer (it stopped without withdrawing it).
func ConnectAnnounced(dir string, opts ...nats.Option) (*nats.Conn, error) {
	url, token, err := readAnnouncement(dir)
	if err != nil {
		return nil, err
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	nc, err := nats.Connect(url, append(opts, nats.Timeout(5*time.Second))...)
	if err != nil {
		return nil, fmt.Errorf("the embedded nats-server announced in %s (%s) does not answer; is tally still running? %w",
			filepath.Join(dir, URLFile), url, err)
	}
	return nc, nil
}
