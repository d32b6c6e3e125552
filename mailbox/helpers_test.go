package mailbox

import (
	"crypto/tls"
	"net"
	"testing"

	"tally/mailbox/mailboxtest"
)

func tlsConfigFor(s *mailboxtest.Server) *tls.Config { return &tls.Config{RootCAs: s.RootCAs} }

// listenSilent accepts connections and says nothing; it returns its port.
func listenSilent(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
