// An upstream Go discovery client joins a cluster of three of our machined nodes through our
// discovery-service (issue #4): it must decrypt what our nodes publish, and our nodes must list it
// as an affiliate and as a member, field for field.
package interop

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siderolabs/discovery-api/api/v1alpha1/client/pb"
	"github.com/siderolabs/discovery-client/pkg/client"
)

// announced is what a cluster member says about itself, as the text nodectl prints: the fields
// of Talos's Affiliate (a Member has no nodename field; its ID is the nodename) and, for a peer
// with KubeSpan, its key, address and endpoints.
type announced struct {
	nodeID, hostname, nodename, machineType, operatingSystem string
	addresses                                                []string
	kubespan                                                 string // "" without KubeSpan
	apiServerPort                                            int    // 0 without a control plane
}

func (a announced) String() string {
	return fmt.Sprintf("id=%s hostname=%s nodename=%s type=%s os=%q addresses=%v kubespan=%q "+
		"api_server_port=%d", a.nodeID, a.hostname, a.nodename, a.machineType, a.operatingSystem,
		a.addresses, a.kubespan, a.apiServerPort)
}

func kubespanText(publicKey, address string, endpoints []string) string {
	return fmt.Sprintf("key=%s address=%s endpoints=%v", publicKey, address, endpoints)
}

// machinedNode is one running machined with its own state dir and config.
type machinedNode struct {
	hostname, nodename, machineType string
	socket, logPath                 string
}

var machinedStarted = regexp.MustCompile(`event=started .*api_port=[0-9]+`)

func randomBase64(t *testing.T) string {
	t.Helper()

	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}

	return base64.StdEncoding.EncodeToString(b)
}

// startMachined writes the node's config (as scripts/demo does: v1alpha1, DiscoveryServiceConfig,
// DiscoveryIdentityConfig, HostConfig) and runs $MACHINED_BIN on an ephemeral port.
func startMachined(t *testing.T, serviceEndpoint, clusterID, secret string, node machinedNode,
	addresses []string,
) *machinedNode {
	t.Helper()

	bin := os.Getenv("MACHINED_BIN")
	if bin == "" {
		t.Fatal("MACHINED_BIN is not set (ctest sets it to the built machined)")
	}

	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	configPath := filepath.Join(dir, "config.yaml")
	config := fmt.Sprintf(`version: v1alpha1
machine:
  type: %s
  network:
    hostname: %s
cluster:
  clusterName: interop
---
apiVersion: v1alpha1
kind: DiscoveryServiceConfig
name: local
endpoint: http://%s
---
apiVersion: v1alpha1
kind: DiscoveryIdentityConfig
clusterID: %s
clusterSecret: %s
---
apiVersion: v1alpha1
kind: HostConfig
nodename: %s
addresses:
  - %s
`, node.machineType, node.hostname, serviceEndpoint, clusterID, secret, node.nodename,
		strings.Join(addresses, "\n  - "))

	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	n := &node
	n.socket = filepath.Join(stateDir, "machined.sock")
	n.logPath = filepath.Join(dir, "machined.log")
	args := []string{"--state-dir", stateDir, "--config", configPath, "--api-addr", "127.0.0.1:0",
		"--api-insecure", "--log-level", "debug"}
	startProcess(t, "machined "+n.hostname, bin, args, n.logPath)

	deadline := time.Now().Add(30 * time.Second)
	for !machinedStarted.MatchString(readLog(n.logPath)) {
		if time.Now().After(deadline) {
			t.Fatalf("machined %s did not start within 30s:\n%s", n.hostname, readLog(n.logPath))
		}

		time.Sleep(20 * time.Millisecond)
	}

	return n
}

// resource is one object of `nodectl get ... -o json`.
type resource struct {
	Metadata struct {
		ID string `json:"id"`
	} `json:"metadata"`
	Spec struct {
		NodeID          string   `json:"nodeId"`
		Addresses       []string `json:"addresses"`
		Hostname        string   `json:"hostname"`
		Nodename        string   `json:"nodename"`
		OperatingSystem string   `json:"operatingSystem"`
		MachineType     string   `json:"machineType"`
		KubeSpan        *struct {
			PublicKey string   `json:"publicKey"`
			Address   string   `json:"address"`
			Endpoints []string `json:"endpoints"`
		} `json:"kubespan"`
		ControlPlane *struct {
			Port int `json:"port"`
		} `json:"controlPlane"`
	} `json:"spec"`
}

// announced renders an Affiliate or (with member) a Member resource.
func (r resource) announced(member bool) announced {
	s := r.Spec
	a := announced{
		nodeID: s.NodeID, hostname: s.Hostname, nodename: s.Nodename, machineType: s.MachineType,
		operatingSystem: s.OperatingSystem, addresses: s.Addresses,
	}

	if member {
		a.nodename = r.Metadata.ID
	}

	if s.KubeSpan != nil {
		a.kubespan = kubespanText(s.KubeSpan.PublicKey, s.KubeSpan.Address, s.KubeSpan.Endpoints)
	}

	if s.ControlPlane != nil {
		a.apiServerPort = s.ControlPlane.Port
	}

	return a
}

// nodectlGet runs `nodectl --socket <socket> get <kind> -o json` and decodes its stream of JSON
// objects. Errors are returned, not fatal: callers poll.
func nodectlGet(socket, kind string) ([]resource, error) {
	bin := os.Getenv("NODECTL_BIN")
	if bin == "" {
		return nil, errors.New("NODECTL_BIN is not set (ctest sets it to the built nodectl)")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var stdout, stderr bytes.Buffer

	cmd := exec.CommandContext(ctx, bin, "--socket", socket, "get", kind, "-o", "json")
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("nodectl get %s: %v: %s", kind, err, stderr.String())
	}

	result := []resource{}

	for dec := json.NewDecoder(&stdout); ; {
		var r resource
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			return result, nil
		} else if err != nil {
			return nil, fmt.Errorf("nodectl get %s: output is not JSON: %v", kind, err)
		}

		result = append(result, r)
	}
}

// wireAnnounced renders what the Go client decrypted for one affiliate.
func wireAnnounced(a *client.Affiliate) announced {
	d := a.Affiliate
	out := announced{
		nodeID: d.NodeId, hostname: d.Hostname, nodename: d.Nodename, machineType: d.MachineType,
		operatingSystem: d.OperatingSystem, addresses: []string{},
	}

	for _, ip := range d.Addresses {
		out.addresses = append(out.addresses, addrText(ip))
	}

	endpoints := []string{}

	for _, e := range a.Endpoints {
		addr, _ := netip.AddrFromSlice(e.Ip)
		endpoints = append(endpoints, netip.AddrPortFrom(addr, uint16(e.Port)).String())
	}

	if d.Kubespan != nil || len(endpoints) > 0 {
		out.kubespan = kubespanText(d.Kubespan.GetPublicKey(), addrText(d.Kubespan.GetAddress()), endpoints)
	}

	if d.ControlPlane != nil {
		out.apiServerPort = int(d.ControlPlane.ApiServerPort)
	}

	return out
}

func addrText(ip []byte) string {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return fmt.Sprintf("invalid(%x)", ip)
	}

	return addr.String()
}

// sortedLines renders a set of members one per line, sorted, for comparison and messages.
func sortedLines(members []announced) string {
	lines := []string{}
	for _, m := range members {
		lines = append(lines, m.String())
	}

	slices.Sort(lines)

	return strings.Join(lines, "\n")
}

func TestUpstreamClientJoinsMachinedCluster(t *testing.T) {
	t.Parallel()

	srv := startServer(t, "--gc-interval", "1s")
	clusterID := randomBase64(t)
	secret := randomBase64(t)

	// Hostnames with a domain: the affiliate carries the FQDN, the member ID is the nodename.
	// Node 3 lists a prefix in its config: only the address is announced.
	nodes := []*machinedNode{
		startMachined(t, srv.endpoint, clusterID, secret,
			machinedNode{hostname: "node-1.interop.test", nodename: "k8s-node-1", machineType: "controlplane"},
			[]string{"127.0.0.11", "fd00::11"}),
		startMachined(t, srv.endpoint, clusterID, secret,
			machinedNode{hostname: "node-2.interop.test", nodename: "k8s-node-2", machineType: "worker"},
			[]string{"127.0.0.12"}),
		startMachined(t, srv.endpoint, clusterID, secret,
			machinedNode{hostname: "node-3.interop.test", nodename: "k8s-node-3", machineType: "init"},
			[]string{"127.0.0.13/8", "fd00::13"}),
	}
	nodeAddresses := [][]string{{"127.0.0.11", "fd00::11"}, {"127.0.0.12"}, {"127.0.0.13", "fd00::13"}}

	// What each node should announce: its node ID and OS string come from the node itself (its
	// identity and local affiliate), the rest from its config. No KubeSpan, no API server.
	ours := make([]announced, len(nodes))

	for i, n := range nodes {
		ours[i] = announced{
			hostname: n.hostname, nodename: n.nodename, machineType: n.machineType,
			addresses: nodeAddresses[i],
		}

		eventually(t, 30*time.Second, func() string {
			ids, err := nodectlGet(n.socket, "identities")
			if err != nil {
				return err.Error()
			}

			if len(ids) != 1 || ids[0].Spec.NodeID == "" {
				return fmt.Sprintf("node %s: identities %+v, want one with a node ID", n.hostname, ids)
			}

			ours[i].nodeID = ids[0].Spec.NodeID

			affiliates, err := nodectlGet(n.socket, "affiliates")
			if err != nil {
				return err.Error()
			}

			for _, a := range affiliates {
				if a.Metadata.ID == ours[i].nodeID {
					ours[i].operatingSystem = a.Spec.OperatingSystem

					return ""
				}
			}

			return fmt.Sprintf("node %s: no local affiliate %s yet", n.hostname, ours[i].nodeID)
		})

		if ours[i].operatingSystem == "" {
			t.Errorf("node %s announces an empty operating system", n.hostname)
		}
	}

	// The Go peer. Talos's key is the base64-decoded cluster secret (32 bytes: AES-256); the
	// cluster ID is sent as it is written.
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}

	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}

	peer := announced{
		nodeID:          "goPeerNodeId7x1SuC8Ege5BGXdAfTEff5iQnlWZLfv9h",
		hostname:        "go-peer.interop.test",
		nodename:        "go-peer",
		machineType:     "controlplane",
		operatingSystem: "Talos (v1.9.0)",
		addresses:       []string{"127.0.0.20", "fd00::20"},
		apiServerPort:   6443,
	}
	peerKey, peerKubeSpanAddress := "goPeerWireguardPublicKey0000000000000000000=", "fdcc::20"
	peerEndpoints := []string{"127.0.0.20:51820", "[fd00::20]:51820"}
	peer.kubespan = kubespanText(peerKey, peerKubeSpanAddress, peerEndpoints)

	goPeer := startNode(t, srv.endpoint, cluster{id: clusterID, cipher: block}, peer.nodeID, time.Minute)

	data := &pb.Affiliate{
		NodeId:          peer.nodeID,
		Hostname:        peer.hostname,
		Nodename:        peer.nodename,
		MachineType:     peer.machineType,
		OperatingSystem: peer.operatingSystem,
		Kubespan: &pb.KubeSpan{
			PublicKey: peerKey,
			Address:   netip.MustParseAddr(peerKubeSpanAddress).AsSlice(),
		},
		ControlPlane: &pb.ControlPlane{ApiServerPort: uint32(peer.apiServerPort)},
	}
	for _, a := range peer.addresses {
		data.Addresses = append(data.Addresses, netip.MustParseAddr(a).AsSlice())
	}

	endpoints := []*pb.Endpoint{}
	for _, e := range peerEndpoints {
		ap := netip.MustParseAddrPort(e)
		endpoints = append(endpoints, &pb.Endpoint{Ip: ap.Addr().AsSlice(), Port: uint32(ap.Port())})
	}

	if err = goPeer.client.SetLocalData(&client.Affiliate{Affiliate: data, Endpoints: endpoints}, nil); err != nil {
		t.Fatal(err)
	}

	// 1. The Go peer decrypts all three of our nodes (and nothing else), with what we configured.
	want := sortedLines(ours)
	eventually(t, 30*time.Second, func() string {
		seen := []announced{}
		for _, a := range goPeer.client.GetAffiliates() {
			seen = append(seen, wireAnnounced(a))
		}

		if got := sortedLines(seen); got != want {
			return fmt.Sprintf("the Go peer decrypts\n%s\nwant\n%s", got, want)
		}

		return ""
	})

	// 2. Every node lists the Go peer as an affiliate (merged from cluster-raw, KubeSpan endpoints
	// included) and as a member (no KubeSpan there), beside our three nodes; its own view of our
	// nodes matches what they announce.
	peerMember := peer
	peerMember.kubespan = ""
	wantAffiliates := sortedLines(append(slices.Clone(ours), peer))
	wantMembers := sortedLines(append(slices.Clone(ours), peerMember))

	for _, n := range nodes {
		for _, kind := range []string{"affiliates", "members"} {
			eventually(t, 30*time.Second, func() string {
				resources, err := nodectlGet(n.socket, kind)
				if err != nil {
					return err.Error()
				}

				seen := []announced{}
				for _, r := range resources {
					seen = append(seen, r.announced(kind == "members"))
				}

				exp := wantAffiliates
				if kind == "members" {
					exp = wantMembers
				}

				if got := sortedLines(seen); got != exp {
					return fmt.Sprintf("node %s: get %s\n%s\nwant\n%s", n.hostname, kind, got, exp)
				}

				return ""
			})
		}
	}
}
