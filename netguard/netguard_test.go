package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	refused := []string{
		"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fe80::1", "fc00::1",
		"0.0.0.0", "0.1.2.3", "100.64.0.1", "100.127.255.255", "192.0.0.8", "198.18.0.1", "198.19.255.255",
		"240.0.0.1", "255.255.255.255", "224.0.0.1", "239.1.1.1", "ff02::1", "ff05::2", "::",
		"64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::", "2002:a00:1::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"192.0.2.1", "2001:db8::1",
	}
	public := []string{"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "198.20.0.1", "192.0.1.1", "2a00:1450:4001::1", "2001:4860::8888", "::ffff:8.8.8.8"}
	for _, s := range refused {
		if Public(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as public", s)
		}
	}
	for _, s := range public {
		if !Public(netip.MustParseAddr(s)) {
			t.Errorf("%s refused", s)
		}
	}
}

func TestGuardRefusesLocalConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// By name too: the check is on the address connected to.
	port := ln.Addr().(*net.TCPAddr).Port
	for _, addr := range []string{ln.Addr().String(), net.JoinHostPort("localhost", itoa(port))} {
		if _, err := (Guard{}).DialContext(ctx, "tcp", addr); !errors.Is(err, ErrRefused) {
			t.Fatalf("dial %s: %v, want ErrRefused", addr, err)
		}
	}
	c, err := (Guard{AllowPrivate: true}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("with private networks allowed: %v", err)
	}
	c.Close()
}

func itoa(n int) string { return strconv.Itoa(n) }
