// Package mailtest runs a real in-process SMTP server (github.com/emersion/go-smtp)
// for tests: it accepts every message, stores it, and can be told to reject
// commands with a chosen SMTP reply code.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the server accepted.
type Received struct {
	From      string      // envelope sender (MAIL FROM)
	To        []string    // envelope recipients (RCPT TO)
	Data      []byte      // the message as transmitted (headers and body)
	Header    mail.Header // Data's header, parsed by net/mail
	MessageID string      // Message-ID header without the angle brackets
	Username  string      // user name of AUTH PLAIN, "" without authentication
	TLS       bool        // the session was encrypted (STARTTLS or implicit TLS)
}

// Option configures Start.
type Option func(*options)

type options struct {
	starttls    bool
	implicitTLS bool
}

// WithSTARTTLS makes the server offer STARTTLS with a self-signed
// certificate for 127.0.0.1 (clients need insecure_skip_verify=true).
func WithSTARTTLS() Option { return func(o *options) { o.starttls = true } }

// WithImplicitTLS makes the server speak TLS from the first byte (smtps)
// with a self-signed certificate; URL then returns smtps://.
func WithImplicitTLS() Option { return func(o *options) { o.implicitTLS = true } }

// Server is a running test SMTP server.
type Server struct {
	srv    *smtp.Server
	ln     net.Listener
	addr   string
	scheme string
	done   chan struct{}
	close  sync.Once

	mu       sync.Mutex
	msgs     []Received
	changed  chan struct{} // closed and replaced whenever msgs grows
	failRcpt failure       // applies to RCPT and DATA
	failData failure       // applies to DATA only
}

type failure struct {
	n    int
	code int
	msg  string
}

// Start runs a server on 127.0.0.1 on a free port until the test ends. It
// accepts any AUTH PLAIN credentials (also on plain connections) or none.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}

	s := &Server{scheme: "smtp", done: make(chan struct{}), changed: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "mailtest.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 32 << 20
	srv.MaxRecipients = 100
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	if o.starttls || o.implicitTLS {
		conf, err := selfSignedTLS()
		if err != nil {
			_ = ln.Close()
			t.Fatalf("mailtest: %v", err)
		}
		if o.implicitTLS {
			ln = tls.NewListener(ln, conf)
			s.scheme = "smtps"
		} else {
			srv.TLSConfig = conf
		}
	}

	s.ln = ln
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(s.Close)
	return s
}

// URL returns smtp://127.0.0.1:PORT (smtps:// with WithImplicitTLS).
func (s *Server) URL() string { return s.scheme + "://" + s.addr }

// Addr returns 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.addr }

// Close stops the server and drops open connections; the port is then
// closed. It is called automatically when the test ends.
func (s *Server) Close() {
	s.close.Do(func() {
		_ = s.srv.Close()
		_ = s.ln.Close() // in case Close came before Serve registered it
		<-s.done
	})
}

// Messages returns a copy of the messages received so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// WaitFor waits until at least n messages have arrived and returns them
// all; it fails the test after timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		if got >= n {
			msgs := append([]Received(nil), s.msgs...)
			s.mu.Unlock()
			return msgs
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("mailtest: got %d messages within %s, want %d", got, timeout, n)
			return nil
		}
	}
}

// FailNext makes the next n RCPT or DATA commands fail with the SMTP reply
// code (e.g. 451 temporary, 550 permanent) and msg. n = 0 clears it.
func (s *Server) FailNext(n, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRcpt = failure{n: n, code: code, msg: msg}
}

// FailNextData is FailNext for DATA only: recipients are accepted, and the
// message is rejected after it has been transmitted.
func (s *Server) FailNextData(n, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failData = failure{n: n, code: code, msg: msg}
}

// takeFailure consumes one pending failure; data tells whether the command
// is DATA.
func (s *Server) takeFailure(data bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &s.failRcpt
	if data && s.failData.n > 0 {
		f = &s.failData
	}
	if f.n <= 0 {
		return nil
	}
	f.n--
	msg := f.msg
	if msg == "" {
		msg = fmt.Sprintf("mailtest: failing with %d as told", f.code)
	}
	return &smtp.SMTPError{Code: f.code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: msg}
}

func (s *Server) store(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, r)
	close(s.changed)
	s.changed = make(chan struct{})
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, _ string) error {
		se.user = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.from, se.to = from, nil
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := se.s.takeFailure(false); err != nil {
		return err
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := se.s.takeFailure(true); err != nil {
		return err
	}
	rcv := Received{
		From:     se.from,
		To:       append([]string(nil), se.to...),
		Data:     data,
		Username: se.user,
	}
	if _, ok := se.conn.TLSConnectionState(); ok {
		rcv.TLS = true
	}
	if m, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		rcv.Header = m.Header
		rcv.MessageID = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(m.Header.Get("Message-Id")), "<"), ">")
	}
	se.s.store(rcv)
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }

// selfSignedTLS makes a throw-away certificate for 127.0.0.1, ::1 and localhost.
func selfSignedTLS() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "mailtest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}, nil
}
