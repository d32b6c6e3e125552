// Package proxytest puts a TCP proxy between Tally and a real service in
// a test, so the test can take the service away from Tally, and give it
// back, without stopping the service other tests share.
package proxytest

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections on its own loopback port to a target.
type Proxy struct {
	target string
	ln     net.Listener
	mu     sync.Mutex
	cut    bool
	stop   bool
	frozen bool
	conns  map[net.Conn]struct{}
}

// New starts a proxy to target (host:port), stopped when the test ends.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
	})
	return p
}

// Addr is the proxy's host:port; point Tally at it.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut takes the service away as a host that went off the network does:
// open connections are closed, and new ones are accepted but nothing
// comes back on them, so a client waits for its own timeout.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.cut = true
	p.mu.Unlock()
	p.closeAll()
}

// Freeze takes the service away as a peer that vanished without closing
// does (its host gone, a firewall that dropped the connection's state):
// open connections stay open, but nothing sent on them arrives; new ones
// are held as Cut holds them.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	p.frozen, p.cut = true, true
	p.mu.Unlock()
}

func (p *Proxy) isFrozen() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frozen
}

// Stop takes the service away as a server that stopped does: open
// connections are closed, and new ones closed at once.
func (p *Proxy) Stop() {
	p.mu.Lock()
	p.stop = true
	p.mu.Unlock()
	p.closeAll()
}

// Restore lets new connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.cut, p.stop, p.frozen = false, false, false
	p.mu.Unlock()
	p.closeAll() // the held ones
}

func (p *Proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// track remembers c for closing; false means c must not be served.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return !p.cut
}

func (p *Proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(in) {
			continue // held or closed: nothing comes back
		}
		go p.forward(in)
	}
}

func (p *Proxy) forward(in net.Conn) {
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		in.Close()
		return
	}
	if !p.track(out) {
		in.Close()
		out.Close()
		return
	}
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !p.isFrozen() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go pipe(out, in)
	go pipe(in, out)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, in)
	delete(p.conns, out)
	p.mu.Unlock()
}
