// Runs the upstream Go discovery client (github.com/siderolabs/discovery-client) against our
// discovery-service: discovery, propagation of updates and deletes, TTL expiry, Hello redirects
// and a 50-node cluster, the scenarios upstream's own client tests cover.
package interop

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/siderolabs/discovery-api/api/v1alpha1/client/pb"
	serverpb "github.com/siderolabs/discovery-api/api/v1alpha1/server/pb"
	"github.com/siderolabs/discovery-client/pkg/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// cluster is what the nodes of one Talos cluster share: the ID and the AES-256 key.
type cluster struct {
	id     string
	cipher cipher.Block
}

func newCluster(t *testing.T) cluster {
	t.Helper()

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}

	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}

	return cluster{id: base64.StdEncoding.EncodeToString(key[:16]), cipher: block}
}

// node is one running upstream client; its Run loop stops when the test ends (or on stop()).
type node struct {
	id     string
	client *client.Client
	errors *observer.ObservedLogs // everything the client logged at Error level
	cancel context.CancelFunc
	done   chan error

	stopping time.Time // when stop() first cancelled Run; zero before
}

func startNode(t *testing.T, endpoint string, c cluster, id string, ttl time.Duration) *node {
	t.Helper()

	cl, err := client.NewClient(client.Options{
		Cipher:        c.cipher,
		Endpoint:      endpoint,
		ClusterID:     c.id,
		AffiliateID:   id,
		ClientVersion: "v1.9.0",
		TTL:           ttl,
		Insecure:      true,
	})
	if err != nil {
		t.Fatal(err)
	}

	errCore, errLogs := observer.New(zap.ErrorLevel)
	logger := zap.New(zapcore.NewTee(errCore, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Core())).
		With(zap.String("node", id))

	ctx, cancel := context.WithCancel(context.Background())
	n := &node{id: id, client: cl, errors: errLogs, cancel: cancel, done: make(chan error, 1)}

	go func() { n.done <- cl.Run(ctx, logger, make(chan struct{}, 1)) }()

	t.Cleanup(func() {
		n.stop(t)

		// Every scenario here is healthy: a failed Hello, a broken watch or an undecryptable
		// record means our server did something the client did not expect. The one exception is
		// the node's own call that stop() cancelled (a refresh in flight logs "Canceled").
		for _, entry := range n.errors.All() {
			if n.cancelledByStop(entry) {
				continue
			}

			t.Errorf("node %s logged an error: %s %v", id, entry.Message, entry.ContextMap())
		}
	})

	return n
}

// cancelledByStop: the entry reports a call of the node's own that stop() cancelled.
func (n *node) cancelledByStop(entry observer.LoggedEntry) bool {
	err, _ := entry.ContextMap()["error"].(string) //nolint:errcheck

	return !n.stopping.IsZero() && !entry.Time.Before(n.stopping) &&
		strings.Contains(err, "code = Canceled")
}

func (n *node) stop(t *testing.T) {
	if n.stopping.IsZero() {
		n.stopping = time.Now()
	}

	n.cancel()

	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("node %s: Run returned %v", n.id, err)
		}

		n.done <- nil // later stop() calls return at once
	case <-time.After(10 * time.Second):
		t.Errorf("node %s: Run did not return within 10s of cancel", n.id)
	}
}

// publish sets the node's own data (hostname) and endpoints, plus endpoints it reports for others.
func (n *node) publish(t *testing.T, hostname string, endpoints []netip.AddrPort, others ...client.Endpoint) {
	t.Helper()

	err := n.client.SetLocalData(&client.Affiliate{
		Affiliate: &pb.Affiliate{NodeId: n.id, Hostname: hostname, Nodename: hostname},
		Endpoints: toPB(endpoints),
	}, others)
	if err != nil {
		t.Fatal(err)
	}
}

func toPB(endpoints []netip.AddrPort) []*pb.Endpoint {
	result := make([]*pb.Endpoint, 0, len(endpoints))

	for _, ep := range endpoints {
		ip, _ := ep.Addr().MarshalBinary() //nolint:errcheck
		result = append(result, &pb.Endpoint{Ip: ip, Port: uint32(ep.Port())})
	}

	return result
}

// view renders what a node currently sees as "id hostname [endpoints...]" lines, sorted, so a
// mismatch prints readably.
func (n *node) view() string {
	lines := []string{}

	for _, a := range n.client.GetAffiliates() {
		eps := []string{}

		for _, ep := range a.Endpoints {
			addr, _ := netip.AddrFromSlice(ep.Ip)
			eps = append(eps, netip.AddrPortFrom(addr.Unmap(), uint16(ep.Port)).String())
		}

		sort.Strings(eps)
		lines = append(lines, fmt.Sprintf("%s %s %v", a.Affiliate.NodeId, a.Affiliate.Hostname, eps))
	}

	sort.Strings(lines)

	return strings.Join(lines, "\n")
}

func line(id, hostname string, endpoints ...string) string {
	slices.Sort(endpoints)

	return fmt.Sprintf("%s %s %v", id, hostname, endpoints)
}

// eventually polls cond until it returns "" (success) or the deadline passes; the last non-empty
// result explains the failure.
func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()

	deadline := time.Now().Add(timeout)

	for {
		why := cond()
		if why == "" {
			return
		}

		if time.Now().After(deadline) {
			t.Fatalf("not reached within %v: %s", timeout, why)
		}

		time.Sleep(50 * time.Millisecond)
	}
}

func sees(n *node, want ...string) func() string {
	return func() string {
		expected := strings.Join(want, "\n")
		if got := n.view(); got != expected {
			return fmt.Sprintf("node %s sees\n%s\nwant\n%s", n.id, got, expected)
		}

		return ""
	}
}

func ep(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// endpointOf says which server the i-th client of a test dials: always the same one, or one
// replica after the other (replica_test.go).
type endpointOf func(i int) string

// oneServer starts a discovery-service for a test; every client dials it.
func oneServer(t *testing.T) endpointOf {
	t.Helper()

	srv := startServer(t, "--gc-interval", "1s")

	return func(int) string { return srv.endpoint }
}

func TestTwoClientsDiscoverUpdateDelete(t *testing.T) {
	t.Parallel()
	testTwoClientsDiscoverUpdateDelete(t, oneServer(t))
}

func testTwoClientsDiscoverUpdateDelete(t *testing.T, at endpointOf) {
	c := newCluster(t)
	n1 := startNode(t, at(0), c, "node1", time.Minute)
	n2 := startNode(t, at(1), c, "node2", time.Minute)

	n1.publish(t, "host1", []netip.AddrPort{ep("192.168.3.4:51820")})
	n2.publish(t, "host2", []netip.AddrPort{ep("[2001:db8::2]:51820")})

	eventually(t, 10*time.Second, sees(n1, line("node2", "host2", "[2001:db8::2]:51820")))
	eventually(t, 10*time.Second, sees(n2, line("node1", "host1", "192.168.3.4:51820")))

	if ip := n1.client.GetPublicIP(); !slices.Equal(ip, []byte{127, 0, 0, 1}) {
		t.Errorf("Hello client_ip = %v, want 127.0.0.1 as 4 bytes", ip)
	}

	// A new endpoint and new data; the server keeps the old endpoint until its TTL runs out.
	n1.publish(t, "host1-renamed", []netip.AddrPort{ep("10.5.0.1:51821")})
	eventually(t, 10*time.Second,
		sees(n2, line("node1", "host1-renamed", "192.168.3.4:51820", "10.5.0.1:51821")))

	n1.client.DeleteLocalAffiliate()
	eventually(t, 10*time.Second, sees(n2))
	eventually(t, 10*time.Second, sees(n1, line("node2", "host2", "[2001:db8::2]:51820")))
}

func TestStoppedClientExpiresAfterTTL(t *testing.T) {
	t.Parallel()
	testStoppedClientExpiresAfterTTL(t, oneServer(t))
}

func testStoppedClientExpiresAfterTTL(t *testing.T, at endpointOf) {
	c := newCluster(t)
	short := startNode(t, at(0), c, "short-lived", time.Second)
	watcher := startNode(t, at(1), c, "watcher", time.Minute)

	short.publish(t, "short", []netip.AddrPort{ep("10.0.0.1:51820")})
	watcher.publish(t, "watcher", nil)
	eventually(t, 10*time.Second, sees(watcher, line("short-lived", "short", "10.0.0.1:51820")))

	// The client never deletes itself: the record has to expire (TTL 1s + GC every 1s).
	short.stop(t)
	stopped := time.Now()
	eventually(t, 10*time.Second, sees(watcher))

	if elapsed := time.Since(stopped); elapsed > 5*time.Second {
		t.Errorf("record lived %v after its last refresh; want about TTL + gc-interval (2s)", elapsed)
	}
}

func TestHelloRedirectMovesClientsToSecondServer(t *testing.T) {
	t.Parallel()

	target := startServer(t, "--gc-interval", "1s")
	redirector := startServer(t, "--gc-interval", "1s", "--redirect-endpoint", target.endpoint)
	c := newCluster(t)
	n1 := startNode(t, redirector.endpoint, c, "node1", time.Minute)
	n2 := startNode(t, redirector.endpoint, c, "node2", time.Minute)

	n1.publish(t, "host1", []netip.AddrPort{ep("10.0.0.1:51820")})
	n2.publish(t, "host2", []netip.AddrPort{ep("10.0.0.2:51820")})
	eventually(t, 10*time.Second, sees(n1, line("node2", "host2", "10.0.0.2:51820")))
	eventually(t, 10*time.Second, sees(n2, line("node1", "host1", "10.0.0.1:51820")))

	if got := listIDs(t, target.endpoint, c.id); !slices.Equal(got, []string{"node1", "node2"}) {
		t.Errorf("redirect target holds %v, want [node1 node2]", got)
	}

	if got := listIDs(t, redirector.endpoint, c.id); len(got) != 0 {
		t.Errorf("redirecting server holds %v, want nothing (clients must have moved)", got)
	}

	// Later changes flow through the second server as well.
	n2.publish(t, "host2-renamed", []netip.AddrPort{ep("10.0.0.2:51820")})
	eventually(t, 10*time.Second, sees(n1, line("node2", "host2-renamed", "10.0.0.2:51820")))
}

// listIDs asks a server directly (plain generated stub, no client library) which affiliates it has.
func listIDs(t *testing.T, endpoint, clusterID string) []string {
	t.Helper()

	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() //nolint:errcheck

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	resp, err := serverpb.NewClusterClient(conn).List(ctx, &serverpb.ListRequest{ClusterId: clusterID})
	if err != nil {
		t.Fatalf("List on %s: %v", endpoint, err)
	}

	ids := []string{}
	for _, a := range resp.Affiliates {
		ids = append(ids, a.Id)
	}

	sort.Strings(ids)

	return ids
}

// Like upstream's cluster simulator: every node publishes an IPv4 endpoint of its own and reports
// an IPv6 endpoint for its neighbour; every node must see all others with both.
func TestFiftyClientsConverge(t *testing.T) {
	t.Parallel()
	testFiftyClientsConverge(t, oneServer(t))
}

func testFiftyClientsConverge(t *testing.T, at endpointOf) {
	const size = 50

	c := newCluster(t)
	nodes := make([]*node, size)

	for i := range nodes {
		nodes[i] = startNode(t, at(i), c, fmt.Sprintf("node%02d", i), time.Minute)
	}

	own := func(i int) string { return fmt.Sprintf("10.0.%d.%d:%d", i/200, i%200+1, 50000+i) }
	reported := func(i int) string { return fmt.Sprintf("[2001:db8::%x]:%d", i+1, 40000+i) }

	for i, n := range nodes {
		next := (i + 1) % size
		n.publish(t, fmt.Sprintf("host%02d", i), []netip.AddrPort{ep(own(i))},
			client.Endpoint{AffiliateID: nodes[next].id, Endpoints: toPB([]netip.AddrPort{ep(reported(next))})})
	}

	for i, n := range nodes {
		want := []string{}

		for j := range nodes {
			if j != i {
				want = append(want, line(nodes[j].id, fmt.Sprintf("host%02d", j), own(j), reported(j)))
			}
		}

		sort.Strings(want)
		eventually(t, 30*time.Second, sees(n, want...))
	}
}

// The client pings every max(10s, TTL/10) on an otherwise silent watch (Talos: every 3 min with a
// 30 min TTL). Upstream's server never objects; ours must not close such connections either.
func TestQuietWatchSurvivesClientKeepalive(t *testing.T) {
	t.Parallel()

	srv := startServer(t, "--gc-interval", "1s")
	c := newCluster(t)
	// TTL 100s: pings every 10s, and the first data refresh (TTL/2) only after the quiet window.
	n1 := startNode(t, srv.endpoint, c, "node1", 100*time.Second)
	n2 := startNode(t, srv.endpoint, c, "node2", 100*time.Second)

	n1.publish(t, "host1", nil)
	n2.publish(t, "host2", nil)
	eventually(t, 10*time.Second, sees(n1, line("node2", "host2")))

	const quiet = 45 * time.Second // four client pings with no data on the connection

	deadline := time.Now().Add(quiet)
	for time.Now().Before(deadline) {
		if n1.errors.Len()+n2.errors.Len() > 0 {
			break // cleanup reports what was logged
		}

		time.Sleep(100 * time.Millisecond)
	}

	n2.publish(t, "host2-after-quiet", nil)
	eventually(t, 10*time.Second, sees(n1, line("node2", "host2-after-quiet")))
}
