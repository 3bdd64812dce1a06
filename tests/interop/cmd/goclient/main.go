// Command goclient runs the upstream Go discovery client as a peer for the C++ client's interop
// test (tests/discovery/client): it publishes one affiliate, reports endpoints it "observed" for
// another affiliate, and prints every peer it decrypts as one line per notification.
package main

import (
	"context"
	"crypto/aes"
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	pb "github.com/siderolabs/discovery-api/api/v1alpha1/client/pb"
	"github.com/siderolabs/discovery-client/pkg/client"
	"go.uber.org/zap"
)

func endpointText(e *pb.Endpoint) string {
	addr, ok := netip.AddrFromSlice(e.Ip)
	if !ok {
		return "invalid"
	}
	return netip.AddrPortFrom(addr, uint16(e.Port)).String()
}

func main() {
	endpoint := flag.String("endpoint", "", "discovery service host:port (h2c)")
	cluster := flag.String("cluster", "", "cluster ID")
	id := flag.String("id", "", "own affiliate ID")
	keyHex := flag.String("key", "", "AES key, hex")
	hostname := flag.String("hostname", "", "hostname to publish")
	otherID := flag.String("other-id", "", "affiliate to report observed endpoints for")
	flag.Parse()

	key, err := hex.DecodeString(*keyHex)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad key:", err)
		os.Exit(2)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad key:", err)
		os.Exit(2)
	}
	cli, err := client.NewClient(client.Options{
		Cipher:        block,
		Endpoint:      *endpoint,
		ClusterID:     *cluster,
		AffiliateID:   *id,
		ClientVersion: "interop",
		TTL:           time.Minute,
		Insecure:      true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}

	var others []client.Endpoint
	if *otherID != "" {
		others = []client.Endpoint{{AffiliateID: *otherID, Endpoints: []*pb.Endpoint{
			{Ip: []byte{192, 0, 2, 1}, Port: 1001},
			{Ip: []byte{192, 0, 2, 2}, Port: 1002},
		}}}
	}
	if err = cli.SetLocalData(&client.Affiliate{
		Affiliate: &pb.Affiliate{
			NodeId:      *id,
			Hostname:    *hostname,
			Nodename:    *hostname,
			MachineType: "worker",
			Addresses:   [][]byte{{10, 0, 0, 9}},
			Kubespan: &pb.KubeSpan{
				PublicKey:                  "go-public-key",
				Address:                    netip.MustParseAddr("fd00::9").AsSlice(),
				ExcludeAdvertisedAddresses: []*pb.IPPrefix{{Ip: []byte{0, 0, 0, 0}, Bits: 0}},
			},
		},
		Endpoints: []*pb.Endpoint{{Ip: []byte{10, 0, 0, 9}, Port: 51820}},
	}, others); err != nil {
		fmt.Fprintln(os.Stderr, "set local data:", err)
		os.Exit(1)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	notify := make(chan struct{}, 1)
	go cli.Run(ctx, zap.NewNop(), notify) //nolint:errcheck
	fmt.Println("started")

	for {
		select {
		case <-ctx.Done():
			return
		case <-notify:
			for _, a := range cli.GetAffiliates() {
				eps := make([]string, 0, len(a.Endpoints))
				for _, e := range a.Endpoints {
					eps = append(eps, endpointText(e))
				}
				sort.Strings(eps)
				fmt.Printf("peer id=%s hostname=%s public_key=%s endpoints=%s\n", a.Affiliate.NodeId,
					a.Affiliate.Hostname, a.Affiliate.GetKubespan().GetPublicKey(), strings.Join(eps, ","))
			}
		}
	}
}
