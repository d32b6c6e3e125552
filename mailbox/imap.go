package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"tally/netguard"
)

// TLS modes of an IMAP connection.
const (
	// TLSImplicit is IMAPS: TLS from the first byte (usually port 993).
	TLSImplicit = "imaps"
	// TLSStartTLS upgrades a plain connection (usually port 143) and
	// refuses to go on without TLS.
	TLSStartTLS = "starttls"
	// TLSPlain sends the password in the clear; accepted only for loopback
	// hosts, i.e. a local test server.
	TLSPlain = "plain"
)

// ErrLogin means the server refused the username or password.
var ErrLogin = errors.New("the IMAP server refused the login")

// Account is where a mailbox is and how to log in to it.
type Account struct {
	Host     string
	Port     int
	TLS      string
	Username string
	Password string
	// Folder is the mailbox searched, INBOX unless set.
	Folder string
	// Address is the mailbox's e-mail address; only the forwarding
	// mailbox needs it.
	Address string
}

func (a Account) address() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

func (a Account) folder() string {
	if a.Folder == "" {
		return "INBOX"
	}
	return a.Folder
}

// Limits bound what one scrape may cost.
type Limits struct {
	// DialTimeout bounds connecting, TLS and the greeting. Default 15s.
	DialTimeout time.Duration
	// CommandTimeout bounds each IMAP command, a message download
	// included. Default 60s.
	CommandTimeout time.Duration
	// MaxMessageSize is the largest message taken (MAX_FILE_SIZE); a larger
	// one is remembered as too large and skipped. Default 10 MiB.
	MaxMessageSize int64
	// MaxMessages is how many new messages one scrape submits at most; the
	// rest wait for the next scrape. Default 200.
	MaxMessages int
	// TLSConfig is the base TLS configuration (tests set RootCAs); nil
	// means the system roots.
	TLSConfig *tls.Config
	// AllowPrivateNetworks lets links reach IMAP servers on addresses
	// that are not public (OUTBOUND_ALLOW_PRIVATE_NETWORKS; see netguard).
	// Off: a tenant's host must not reach the operator's network.
	AllowPrivateNetworks bool
	// MaxLinksPerTenant bounds the mailboxes one tenant links. Default 50.
	MaxLinksPerTenant int
}

func (l *Limits) setDefaults() {
	if l.DialTimeout <= 0 {
		l.DialTimeout = 15 * time.Second
	}
	if l.CommandTimeout <= 0 {
		l.CommandTimeout = 60 * time.Second
	}
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = 10 << 20
	}
	if l.MaxMessages <= 0 {
		l.MaxMessages = 200
	}
	if l.MaxLinksPerTenant <= 0 {
		l.MaxLinksPerTenant = 50
	}
}

// session is one logged-in IMAP connection. The client library has no
// contexts and sets the connection's read and write deadlines itself (with
// none while it waits for an answer to begin), so deadlines here are
// watchdogs that close the connection: one for connecting, one per
// command, and the context's end.
type session struct {
	raw     net.Conn
	c       *imapclient.Client
	limits  Limits
	stopCtx func() bool
}

// dial connects, secures and logs in.
func dial(ctx context.Context, a Account, limits Limits) (*session, error) {
	limits.setDefaults()
	dctx, cancel := context.WithTimeout(ctx, limits.DialTimeout)
	defer cancel()
	raw, err := netguard.Guard{AllowPrivate: limits.AllowPrivateNetworks}.DialContext(dctx, "tcp", a.address())
	if err != nil {
		return nil, fmt.Errorf("connect to the IMAP server: %w", err)
	}
	s := &session{raw: raw, limits: limits}
	s.stopCtx = context.AfterFunc(ctx, func() { raw.Close() })
	watchdog := time.AfterFunc(limits.DialTimeout, func() { raw.Close() })
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if limits.TLSConfig != nil {
		tlsConfig = limits.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = a.Host
	}
	opts := &imapclient.Options{TLSConfig: tlsConfig}
	switch a.TLS {
	case TLSImplicit:
		conn := tls.Client(raw, tlsConfig)
		if err := conn.HandshakeContext(dctx); err != nil {
			watchdog.Stop()
			s.close()
			return nil, fmt.Errorf("TLS with the IMAP server: %w", err)
		}
		s.c = imapclient.New(conn, opts)
	case TLSStartTLS:
		c, err := imapclient.NewStartTLS(raw, opts)
		if err != nil {
			watchdog.Stop()
			s.close()
			return nil, fmt.Errorf("STARTTLS with the IMAP server: %w", err)
		}
		s.c = c
	case TLSPlain:
		s.c = imapclient.New(raw, opts)
	default:
		watchdog.Stop()
		s.close()
		return nil, fmt.Errorf("unknown TLS mode %q", a.TLS)
	}
	if err := s.c.WaitGreeting(); err != nil {
		s.close()
		return nil, fmt.Errorf("IMAP greeting: %w", err)
	}
	if !watchdog.Stop() {
		s.close()
		return nil, fmt.Errorf("IMAP greeting: no answer within %s", limits.DialTimeout)
	}
	if err := s.do(func() error { return s.c.Login(a.Username, a.Password).Wait() }); err != nil {
		s.close()
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return nil, fmt.Errorf("%w: %s", ErrLogin, ie.Text)
		}
		return nil, fmt.Errorf("IMAP login: %w", err)
	}
	return s, nil
}

// do runs one command under the command deadline.
func (s *session) do(cmd func() error) error {
	watchdog := time.AfterFunc(s.limits.CommandTimeout, func() { s.raw.Close() })
	err := cmd()
	if !watchdog.Stop() {
		return fmt.Errorf("no answer within %s: %w", s.limits.CommandTimeout, context.DeadlineExceeded)
	}
	return err
}

// close logs out politely (briefly) and closes the connection.
func (s *session) close() {
	if s.c != nil {
		// A short watchdog: a server that does not answer LOGOUT is left.
		watchdog := time.AfterFunc(2*time.Second, func() { s.raw.Close() })
		_ = s.c.Logout().Wait()
		_ = s.c.Close()
		watchdog.Stop()
	}
	_ = s.raw.Close()
	s.stopCtx()
}

// ErrFolder means the server would not open the folder.
var ErrFolder = errors.New("the IMAP server would not open the folder")

// selectFolder opens a folder read-only and returns its UIDVALIDITY.
func (s *session) selectFolder(name string) (uint32, error) {
	var data *imap.SelectData
	err := s.do(func() error {
		var err error
		data, err = s.c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	})
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
		return 0, fmt.Errorf("%w: %s", ErrFolder, ie.Text)
	}
	if err != nil {
		return 0, fmt.Errorf("select folder: %w", err)
	}
	return data.UIDValidity, nil
}

// search returns the UIDs matching criteria, in ascending order.
func (s *session) search(criteria *imap.SearchCriteria) ([]imap.UID, error) {
	var data *imap.SearchData
	err := s.do(func() error {
		var err error
		data, err = s.c.UIDSearch(criteria, nil).Wait()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return data.AllUIDs(), nil
}

// meta is what a scrape decides on before downloading a message.
type meta struct {
	uid          imap.UID
	envelope     *imap.Envelope
	internalDate time.Time
	size         int64
}

// date is the message's Date header, or its arrival when it has none.
func (m meta) date() time.Time {
	if m.envelope != nil && !m.envelope.Date.IsZero() {
		return m.envelope.Date
	}
	return m.internalDate
}

// from is the first From address, lower-cased.
func (m meta) from() string {
	if m.envelope == nil {
		return ""
	}
	for _, a := range m.envelope.From {
		if addr := a.Addr(); addr != "" {
			return addr
		}
	}
	return ""
}

// metas fetches envelope, arrival date and size of uids.
func (s *session) metas(uids []imap.UID) ([]meta, error) {
	var msgs []*imapclient.FetchMessageBuffer
	err := s.do(func() error {
		var err error
		msgs, err = s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
			UID: true, Envelope: true, InternalDate: true, RFC822Size: true,
		}).Collect()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch envelopes: %w", err)
	}
	out := make([]meta, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, meta{uid: m.UID, envelope: m.Envelope, internalDate: m.InternalDate, size: m.RFC822Size})
	}
	return out, nil
}

// errTooLarge means a message turned out larger than MaxMessageSize while
// it was downloaded, whatever size the server had announced.
var errTooLarge = errors.New("message larger than the size limit")

// body downloads one whole message without marking it \Seen, reading at
// most MaxMessageSize bytes of it.
func (s *session) body(uid imap.UID) ([]byte, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	var raw []byte
	var found, tooLarge bool
	err := s.do(func() error {
		cmd := s.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				data, ok := item.(imapclient.FetchItemDataBodySection)
				if !ok || data.Literal == nil || found {
					continue
				}
				b, err := io.ReadAll(io.LimitReader(data.Literal, s.limits.MaxMessageSize+1))
				if err != nil {
					_ = cmd.Close()
					return err
				}
				found, tooLarge, raw = true, int64(len(b)) > s.limits.MaxMessageSize, b
			}
		}
		return cmd.Close()
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("fetch message: %w", err)
	case tooLarge:
		return nil, errTooLarge
	case !found:
		return nil, errors.New("fetch message: the server sent no body (deleted meanwhile?)")
	}
	return raw, nil
}

// Verify logs in to a and opens its folder, to tell a user at once when a
// link cannot work.
func Verify(ctx context.Context, a Account, limits Limits) error {
	s, err := dial(ctx, a, limits)
	if err != nil {
		return err
	}
	defer s.close()
	_, err = s.selectFolder(a.folder())
	return err
}

// ParseForwardURL reads FORWARD_IMAP_URL: imaps://user:pass@host[:993]/FOLDER
// or, for a server on this machine, imap://user:pass@host[:143]/FOLDER.
// The inbox's e-mail address is the login, or ?address=inbox@example.com
// when the login is not an address; tenants forward to its plus-addresses.
func ParseForwardURL(raw string) (Account, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Account{}, errors.New("FORWARD_IMAP_URL is not a valid URL")
	}
	a := Account{Host: u.Hostname(), Username: u.User.Username(), Folder: strings.TrimPrefix(u.Path, "/")}
	a.Password, _ = u.User.Password()
	switch u.Scheme {
	case "imaps":
		a.TLS, a.Port = TLSImplicit, 993
	case "imap":
		a.TLS, a.Port = TLSPlain, 143
		if !isLoopback(a.Host) {
			return Account{}, errors.New("FORWARD_IMAP_URL: imap:// is only for a server on this machine; use imaps://")
		}
	default:
		return Account{}, fmt.Errorf("FORWARD_IMAP_URL: scheme %q is not imaps or imap", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Account{}, errors.New("FORWARD_IMAP_URL: bad port")
		}
		a.Port = n
	}
	if a.Host == "" || a.Username == "" || a.Password == "" {
		return Account{}, errors.New("FORWARD_IMAP_URL needs host, user and password")
	}
	a.Address = strings.ToLower(u.Query().Get("address"))
	if a.Address == "" {
		a.Address = strings.ToLower(a.Username)
	}
	if at := strings.LastIndexByte(a.Address, '@'); at < 1 || at == len(a.Address)-1 || strings.Contains(a.Address[:at], "+") {
		return Account{}, errors.New("FORWARD_IMAP_URL: the inbox's e-mail address (the login, or ?address=) must be an address without a +tag")
	}
	return a, nil
}

// ErrUnreachable is what a tenant is told of every failed connection or
// exchange other than a refused login or folder.
var ErrUnreachable = errors.New("the IMAP server could not be reached or did not answer as expected")

// PublicError is what a tenant is told of a failed connection or scrape:
// ErrLogin, ErrFolder or ErrUnreachable. The errors themselves (dial, TLS,
// server greetings) would let a tenant map the network around its host;
// operators find them by kind in the logs.
func PublicError(err error) error {
	switch {
	case errors.Is(err, ErrLogin):
		return ErrLogin
	case errors.Is(err, ErrFolder):
		return ErrFolder
	}
	return ErrUnreachable
}
