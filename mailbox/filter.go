package mailbox

import (
	"context"
	"strings"
	"time"
)

// DefaultLookback is how far back a scrape looks when the filter names no
// cutoff, so a first scrape of a large mailbox stays bounded.
const DefaultLookback = 90 * 24 * time.Hour

// Retailer is a merchant whose e-mails are receipts.
type Retailer struct {
	// Email is the sender address the retailer's receipts come from. An
	// entry starting with "@" (e.g. "@shop.example") matches every address
	// of that domain.
	Email string
	// Since is the retailer's own cutoff: older messages are not taken even
	// when the global cutoff would allow them. Zero means the global one.
	Since time.Time
}

// Filter says which messages of a tenant's linked mailboxes are receipts.
type Filter struct {
	// Retailers whose messages are taken; none means every message within
	// the cutoff.
	Retailers []Retailer
	// Since is the global cutoff; zero means DefaultLookback before now.
	Since time.Time
}

// FilterSource gives the filter of a tenant, e.g. from the e-receipt
// configuration (retailers and cutoffs).
type FilterSource interface {
	Filter(ctx context.Context, tenant string) (Filter, error)
}

// FilterFunc adapts a function to FilterSource.
type FilterFunc func(ctx context.Context, tenant string) (Filter, error)

// Filter calls f.
func (f FilterFunc) Filter(ctx context.Context, tenant string) (Filter, error) { return f(ctx, tenant) }

// NoRetailers is the filter of a deployment without a retailer
// configuration: every message within DefaultLookback.
var NoRetailers = FilterFunc(func(context.Context, string) (Filter, error) { return Filter{}, nil })

// search is one IMAP search a filter asks for: messages from one sender
// (any when empty) since a cutoff.
type search struct {
	from  string
	since time.Time
}

// searches turns a filter into IMAP searches, one per retailer, each with
// the stricter of the global and the retailer's cutoff.
func (f Filter) searches(now time.Time) []search {
	global := f.Since
	if global.IsZero() {
		global = now.Add(-DefaultLookback)
	}
	if len(f.Retailers) == 0 {
		return []search{{since: global}}
	}
	out := make([]search, 0, len(f.Retailers))
	for _, r := range f.Retailers {
		email := strings.ToLower(strings.TrimSpace(r.Email))
		if email == "" || email == "@" {
			continue
		}
		since := global
		if r.Since.After(since) {
			since = r.Since
		}
		out = append(out, search{from: email, since: since})
	}
	return out
}

// matches reports whether a sender address is the search's: IMAP's FROM is
// a substring match ("shop.example" also finds "notshop.example"), so the
// address found is checked exactly here.
func (s search) matches(addr string) bool {
	addr = strings.ToLower(addr)
	if s.from == "" {
		return true
	}
	if strings.HasPrefix(s.from, "@") {
		domain := s.from[1:]
		at := strings.LastIndexByte(addr, '@')
		if at < 0 {
			return false
		}
		host := addr[at+1:]
		return host == domain || strings.HasSuffix(host, "."+domain)
	}
	return addr == s.from
}
