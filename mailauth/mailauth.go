// Package mailauth checks whether an e-mail really comes from the domain in
// its From: header, by verifying its DKIM signatures (RFC 6376) and their
// alignment with that domain (relaxed, as DMARC defines it). An e-receipt's
// sender decides which merchant it is attributed to, so a forged sender must
// be flagged rather than trusted.
//
// The verdict is computed once, when an e-mail is accepted, and recorded with
// the document: DNS answers change over time, and a replay must not change
// history.
package mailauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"golang.org/x/net/publicsuffix"

	"tally/domain"
)

// DKIM verdicts, part of the public event contract.
const (
	// Verified: a valid signature by the From: domain (or its
	// organisational domain).
	Verified = "verified"
	// Failed: the e-mail carries signatures but none is valid for the
	// From: domain, the mark of a forged or altered message.
	Failed = "failed"
	// None: the e-mail is not signed; nothing can be said about its sender.
	None = "none"
	// TempError: a key could not be fetched (DNS unavailable); the sender
	// is not trusted, but the e-mail is not called forged either.
	TempError = "temperror"
)

// maxSignatures bounds the work one e-mail can cause: each signature costs a
// DNS query and an RSA verification.
const maxSignatures = 5

// Result is the verdict on one e-mail.
type Result struct {
	DKIM string `json:"dkim"`
	// FromDomain is the domain of the From: address.
	FromDomain string `json:"from_domain,omitempty"`
	// SignedBy lists the domains of the valid signatures.
	SignedBy []string `json:"signed_by,omitempty"`
	// SenderForged is set when the e-mail claims a sender that its
	// signatures do not vouch for.
	SenderForged bool `json:"sender_forged,omitempty"`
	// Reason says why the verdict is not verified, for people.
	Reason string `json:"reason,omitempty"`
}

// Verifier verifies DKIM signatures, looking keys up through Resolver.
type Verifier struct {
	// Resolver answers the TXT queries for keys; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Timeout bounds all key lookups of one e-mail. Default 5 s.
	Timeout time.Duration
}

// Verify returns the verdict on a raw RFC 5322 message. It never fails:
// whatever cannot be checked is reported in the verdict.
func (v *Verifier) Verify(ctx context.Context, raw []byte) Result {
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resolver := v.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}

	res := Result{DKIM: None}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		res.Reason = "the e-mail's header cannot be read"
		return res
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err == nil {
		if at := strings.LastIndexByte(from.Address, '@'); at >= 0 {
			res.FromDomain = strings.ToLower(strings.TrimSuffix(from.Address[at+1:], "."))
		}
	}
	if len(msg.Header["Dkim-Signature"]) == 0 {
		res.Reason = "the e-mail carries no DKIM signature"
		return res
	}

	verifications, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		MaxVerifications: maxSignatures,
		LookupTXT: func(name string) ([]string, error) {
			return resolver.LookupTXT(ctx, name)
		},
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		res.DKIM, res.SenderForged = Failed, res.FromDomain != ""
		res.Reason = fmt.Sprintf("the DKIM signatures cannot be read: %v", err)
		return res
	}
	temp := false
	var reasons []string
	for _, ver := range verifications {
		switch {
		case ver.Err == nil:
			res.SignedBy = append(res.SignedBy, strings.ToLower(ver.Domain))
		case dkim.IsTempFail(ver.Err):
			temp = true
			reasons = append(reasons, fmt.Sprintf("signature by %s: key not available (%v)", ver.Domain, ver.Err))
		default:
			reasons = append(reasons, fmt.Sprintf("signature by %s: %v", ver.Domain, ver.Err))
		}
	}
	for _, d := range res.SignedBy {
		if res.FromDomain != "" && Aligned(res.FromDomain, d) {
			res.DKIM = Verified
			return res
		}
	}
	if len(res.SignedBy) > 0 {
		reasons = append(reasons, fmt.Sprintf("valid signatures by %s, not by the sender's domain %s",
			strings.Join(res.SignedBy, ", "), res.FromDomain))
	}
	res.Reason = strings.Join(reasons, "; ")
	if temp && len(res.SignedBy) == 0 {
		res.DKIM = TempError
		return res
	}
	res.DKIM = Failed
	res.SenderForged = true
	return res
}

// Judge is Verify in the form the event history records.
func (v *Verifier) Judge(ctx context.Context, raw []byte) domain.EmailAuth {
	return domain.EmailAuth(v.Verify(ctx, raw))
}

// Aligned reports whether a signature by signer vouches for fromDomain under
// DMARC's relaxed alignment: both share one organisational domain
// (shop.example.co.uk and mail.example.co.uk do, example.co.uk and
// other.co.uk do not).
func Aligned(fromDomain, signer string) bool {
	fromDomain, signer = strings.ToLower(strings.TrimSuffix(fromDomain, ".")), strings.ToLower(strings.TrimSuffix(signer, "."))
	if fromDomain == signer {
		return true
	}
	a, errA := publicsuffix.EffectiveTLDPlusOne(fromDomain)
	b, errB := publicsuffix.EffectiveTLDPlusOne(signer)
	return errA == nil && errB == nil && a == b
}
