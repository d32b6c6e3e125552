// Package netguard keeps connections to hosts that tenants name (webhook
// URLs, IMAP servers) away from the operator's own network: loopback,
// private, link-local, shared, benchmarking, reserved, multicast and
// translated addresses are refused unless the operator allows private
// networks (OUTBOUND_ALLOW_PRIVATE_NETWORKS, for on-premises use).
//
// Invariants: the check runs in the dialer's Control, on the address
// actually connected to after DNS, so a name that resolves (or re-resolves)
// to a refused address is refused too; what a tenant is told about a
// failed connection is one generic reason (Reason), never the dial or TLS
// error, which would let a tenant map the network behind the operator's
// firewall.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrRefused is returned for a connection to an address that is not public.
var ErrRefused = errors.New("the address is not a public internet address")

// Reason is the one thing a tenant is told when a connection to its host
// failed, whatever the cause.
const Reason = "the server could not be reached or did not answer as expected"

// refused lists what is not the public internet beyond what netip's
// predicates (loopback, private, link-local, multicast, unspecified) say.
var refused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network" (RFC 791)
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space, CGNAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation (RFC 5737)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: an IPv4 address behind it
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("2002::/16"),       // 6to4: an IPv4 address inside
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
}

// Public reports whether ip is an address of the public internet.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range refused {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Control is a net.Dialer Control that refuses connections to addresses
// that are not Public.
func Control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefused, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !Public(ip) {
		return fmt.Errorf("%w: %s", ErrRefused, host)
	}
	return nil
}

// Guard dials tenant-named hosts.
type Guard struct {
	// AllowPrivate lifts the check (OUTBOUND_ALLOW_PRIVATE_NETWORKS).
	AllowPrivate bool
}

// Dialer returns a dialer with the check in place (unless AllowPrivate).
func (g Guard) Dialer(d net.Dialer) *net.Dialer {
	if !g.AllowPrivate {
		d.Control = Control
	}
	return &d
}

// DialContext dials address through Dialer.
func (g Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return g.Dialer(net.Dialer{}).DialContext(ctx, network, address)
}
