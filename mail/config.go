// Package mail composes and delivers e-mails over SMTP and renders
// operator-replaceable e-mail templates.
//
// Sending and MIME building are done by github.com/wneessen/go-mail; this
// package adds configuration from a single SMTP_URL, a small Message type,
// and a classification of every failure as ErrTemporary (worth a retry) or
// ErrPermanent (never retried).
package mail

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout is the per-send timeout used when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Default ports when SMTP_URL names none.
const (
	DefaultSubmissionPort = 587 // smtp://
	DefaultSMTPSPort      = 465 // smtps://
)

// Config configures a Sender.
//
// URL is SMTP_URL:
//
//	smtp://user:pass@host:587                   STARTTLS when the server offers it, then AUTH
//	smtp://user:pass@host:587?starttls=required refuse to send unless STARTTLS succeeds
//	smtps://user:pass@host:465                  implicit TLS
//	smtp://host:25                              no authentication
//
// The port defaults to 587 for smtp and 465 for smtps. User name and password
// are percent-decoded. `insecure_skip_verify=true` turns off certificate
// verification (self-signed test servers only). Credentials are only ever
// sent over TLS (AUTH mechanisms that reveal the password are not used on a
// plain connection).
//
// From is MAIL_FROM, e.g. "Tally <tally@example.com>"; it is the From header
// and the envelope sender, and its domain is used for generated Message-IDs.
//
// Timeout bounds one Send (default 30s); see Sender.Send.
type Config struct {
	URL     string
	From    string
	Timeout time.Duration
}

// String returns the configuration with the password redacted, so a Config
// can be logged.
func (c Config) String() string {
	u := "<invalid URL>"
	if pu, err := url.Parse(c.URL); err == nil {
		u = pu.Redacted()
	}
	return fmt.Sprintf("{URL:%s From:%s Timeout:%s}", u, c.From, c.Timeout)
}

// Validate reports every problem of the configuration at once (errors.Join).
func (c Config) Validate() error {
	_, _, _, errs := c.parse()
	return errors.Join(errs...)
}

// endpoint is the parsed form of Config.URL.
type endpoint struct {
	host             string
	port             int
	implicitTLS      bool
	starttlsRequired bool
	insecure         bool
	user, pass       string
}

// parse checks the whole configuration and collects all problems.
func (c Config) parse() (endpoint, *mail.Address, time.Duration, []error) {
	var (
		ep   endpoint
		errs []error
	)
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	// SMTP_URL. Errors never quote the URL: it may hold a password.
	switch raw := strings.TrimSpace(c.URL); {
	case raw == "":
		fail("SMTP_URL is empty")
	default:
		u, err := url.Parse(raw)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			fail("SMTP_URL is not a valid URL: %v", err)
			break
		}
		switch strings.ToLower(u.Scheme) {
		case "smtp":
			ep.port = DefaultSubmissionPort
		case "smtps":
			ep.port = DefaultSMTPSPort
			ep.implicitTLS = true
		case "":
			fail("SMTP_URL has no scheme (want smtp:// or smtps://)")
		default:
			fail("SMTP_URL has unknown scheme %q (want smtp or smtps)", u.Scheme)
		}
		if u.Opaque != "" {
			fail("SMTP_URL must look like scheme://host[:port] (missing //?)")
		}
		ep.host = u.Hostname()
		if ep.host == "" && u.Opaque == "" {
			fail("SMTP_URL has no host")
		}
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				fail("SMTP_URL has invalid port %q", p)
			} else {
				ep.port = n
			}
		}
		if u.Path != "" && u.Path != "/" {
			fail("SMTP_URL must not have a path (got %q)", u.Path)
		}
		if u.Fragment != "" {
			fail("SMTP_URL must not have a fragment")
		}
		if u.User != nil {
			ep.user = u.User.Username()
			ep.pass, _ = u.User.Password()
			if ep.user == "" {
				fail("SMTP_URL has a password but no user name")
			}
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			fail("SMTP_URL has an invalid query: %v", err)
		}
		for key, vals := range q {
			val := ""
			if len(vals) > 0 {
				val = vals[len(vals)-1]
			}
			switch key {
			case "starttls":
				switch strings.ToLower(val) {
				case "required":
					ep.starttlsRequired = true
				case "opportunistic", "":
				default:
					fail("SMTP_URL: starttls=%q is not one of required, opportunistic", val)
				}
				if ep.implicitTLS && ep.starttlsRequired {
					fail("SMTP_URL: starttls does not apply to smtps:// (already TLS)")
				}
			case "insecure_skip_verify":
				b, err := strconv.ParseBool(val)
				if err != nil {
					fail("SMTP_URL: insecure_skip_verify=%q is not a boolean", val)
				}
				ep.insecure = b
			default:
				fail("SMTP_URL has unknown parameter %q (known: starttls, insecure_skip_verify)", key)
			}
		}
	}

	// MAIL_FROM.
	var from *mail.Address
	if strings.TrimSpace(c.From) == "" {
		fail("MAIL_FROM is empty")
	} else if a, err := mail.ParseAddress(c.From); err != nil {
		fail("MAIL_FROM %q is not a valid address: %v", c.From, err)
	} else if _, domain, ok := splitAddr(a.Address); !ok || !validDomain(domain) {
		fail("MAIL_FROM %q needs an address of the form local@domain", c.From)
	} else {
		from = a
	}

	timeout := c.Timeout
	switch {
	case timeout < 0:
		fail("mail timeout %s is negative", timeout)
	case timeout == 0:
		timeout = DefaultTimeout
	}
	return ep, from, timeout, errs
}

// splitAddr splits "local@domain" at its last "@".
func splitAddr(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}

// validDomain accepts host names and address literals like "[192.0.2.1]".
func validDomain(d string) bool {
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") {
		return net.ParseIP(strings.TrimPrefix(d[1:len(d)-1], "IPv6:")) != nil
	}
	if len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if r != '-' && !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') && r < 0x80 {
				return false
			}
		}
	}
	return true
}
