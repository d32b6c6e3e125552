package eventstoretest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a JetStream cluster of nats-servers in this process, joined by
// routes on loopback, for tests of leader changes and lost nodes. Every
// node writes through to disk (sync_interval always), as a deployment that
// cannot lose an acknowledged event does.
type Cluster struct {
	t     testing.TB
	mu    sync.Mutex
	nodes []*node
}

type node struct {
	name        string
	dir         string
	clientPort  int
	clusterPort int
	srv         *server.Server // nil while stopped
}

// StartCluster starts n nodes and waits until JetStream has a meta leader
// that sees every other node online (before that, placing a stream of n
// replicas fails: "no suitable peers for placement, peer offline").
// The nodes are shut down when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	base := t.TempDir()
	for i := range n {
		c.nodes = append(c.nodes, &node{
			name: fmt.Sprintf("n%d", i+1), dir: filepath.Join(base, fmt.Sprintf("n%d", i+1)),
			clientPort: freePort(t), clusterPort: freePort(t),
		})
	}
	for i := range c.nodes {
		c.Start(i)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.Stop(i)
		}
	})
	c.waitMetaLeader()
	return c
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// URL lists every node's client URL, as NATS_URL takes them.
func (c *Cluster) URL() string {
	var urls []string
	for _, n := range c.nodes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", n.clientPort))
	}
	return strings.Join(urls, ",")
}

// Start starts node i (again, after Stop) on its ports and directory.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[i]
	var routes []string
	for _, other := range c.nodes {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", other.clusterPort))
	}
	opts := &server.Options{
		ServerName: n.name,
		Host:       "127.0.0.1",
		Port:       n.clientPort,
		JetStream:  true,
		StoreDir:   n.dir,
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      true,
		Cluster:    server.ClusterOpts{Name: "tally-test", Host: "127.0.0.1", Port: n.clusterPort},
		Routes:     server.RoutesFromStr(strings.Join(routes, ",")),
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		c.t.Fatalf("start %s: %v", n.name, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		c.t.Fatalf("%s not ready for connections", n.name)
	}
	n.srv = srv
}

// Stop shuts node i down, as a crash or a reboot would take it away.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[i]
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// Wipe deletes node i's data directory; the node must be stopped.
func (c *Cluster) Wipe(i int) {
	c.t.Helper()
	if err := os.RemoveAll(c.nodes[i].dir); err != nil {
		c.t.Fatal(err)
	}
}

// Name is node i's server name.
func (c *Cluster) Name(i int) string { return c.nodes[i].name }

// Index is the node with the given server name, or -1.
func (c *Cluster) Index(name string) int {
	for i, n := range c.nodes {
		if n.name == name {
			return i
		}
	}
	return -1
}

// LocalState is what node i itself holds of a stream (messages, last
// sequence), read from the node rather than from the stream's leader.
func (c *Cluster) LocalState(i int, stream string) (msgs, lastSeq uint64, ok bool) {
	c.mu.Lock()
	srv := c.nodes[i].srv
	c.mu.Unlock()
	if srv == nil {
		return 0, 0, false
	}
	jsz, err := srv.Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		return 0, 0, false
	}
	for _, acc := range jsz.AccountDetails {
		for _, st := range acc.Streams {
			if st.Name == stream {
				return st.State.Msgs, st.State.LastSeq, true
			}
		}
	}
	return 0, 0, false
}

func (c *Cluster) waitMetaLeader() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if n.srv != nil && n.srv.JetStreamIsLeader() && c.seesAllPeers(n.srv) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("the cluster elected no JetStream meta leader that sees every node within 30s")
}

// seesAllPeers tells whether the meta leader srv knows every other node as
// current and online.
func (c *Cluster) seesAllPeers(srv *server.Server) bool {
	jsz, err := srv.Jsz(&server.JSzOptions{})
	if err != nil || jsz.Meta == nil || len(jsz.Meta.Replicas) < len(c.nodes)-1 {
		return false
	}
	for _, p := range jsz.Meta.Replicas {
		if !p.Current || p.Offline {
			return false
		}
	}
	return true
}

// StreamLeader is the node that leads the stream of the global account,
// waiting up to 30s for an election to end.
func (c *Cluster) StreamLeader(stream string) int {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for i, n := range c.nodes {
			if n.srv != nil && n.srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
				c.mu.Unlock()
				return i
			}
		}
		c.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("stream %s has no leader", stream)
	return -1
}
