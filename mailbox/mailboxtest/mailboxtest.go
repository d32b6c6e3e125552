// Package mailboxtest runs a real IMAP server in process for tests: the
// in-memory server of go-imap, on a loopback port, with plain login, and
// STARTTLS and implicit TLS with a certificate made for the test.
package mailboxtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Server is a running IMAP server.
type Server struct {
	t     testing.TB
	mem   *imapmemserver.Server
	users map[string]*imapmemserver.User
	// Host and Port of the plain/STARTTLS listener; TLSPort serves
	// implicit TLS.
	Host    string
	Port    int
	TLSPort int
	// RootCAs trusts the server's certificate.
	RootCAs *x509.CertPool
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	cert, pool := certificate(t)
	s := &Server{t: t, mem: imapmemserver.New(), users: map[string]*imapmemserver.User{}, Host: "127.0.0.1", RootCAs: pool}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		TLSConfig:    tlsConfig,
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	go func() { _ = srv.Serve(tls.NewListener(tln, tlsConfig)) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.TLSPort = tln.Addr().(*net.TCPAddr).Port
	return s
}

// Addr is host:port of the plain/STARTTLS listener.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// AddUser makes a user with an INBOX.
func (s *Server) AddUser(name, password string) {
	u := imapmemserver.NewUser(name, password)
	if err := u.Create("INBOX", nil); err != nil {
		s.t.Fatal(err)
	}
	s.mem.AddUser(u)
	s.users[name] = u
}

// Append delivers raw into user's folder with the given arrival time and
// returns its UID.
func (s *Server) Append(user, folder string, raw []byte, arrived time.Time) imap.UID {
	s.t.Helper()
	data, err := s.users[user].Append(folder, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: arrived})
	if err != nil {
		s.t.Fatal(err)
	}
	return data.UID
}

// Recreate deletes and creates a folder, so it gets a new UIDVALIDITY and
// new UIDs, as a server does after rebuilding its index.
func (s *Server) Recreate(user, folder string) {
	s.t.Helper()
	u := s.users[user]
	if err := u.Delete(folder); err != nil {
		s.t.Fatal(err)
	}
	if err := u.Create(folder, nil); err != nil {
		s.t.Fatal(err)
	}
}

type literal struct {
	*bytes.Reader
	size int64
}

func (l literal) Size() int64 { return l.size }

func certificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
