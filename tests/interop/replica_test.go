// The upstream client scenarios against three discovery-service replicas sharing one etcd
// (--etcd-endpoints): the clients of one test dial different replicas, so everything they see of
// each other went through etcd. Skipped where etcd ($TDS_ETCD_BIN, else /usr/bin/etcd) is missing.
package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment ago (etcd takes its
// ports as flags and cannot report ephemeral ones back).
func freePorts(t *testing.T, n int) []int {
	t.Helper()

	ports := make([]int, 0, n)

	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() //nolint:errcheck

		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}

	return ports
}

// startEtcd runs a one-member etcd on ephemeral ports with its data in a temporary dir; it is
// killed when the test ends. Returns its client endpoint (host:port).
func startEtcd(t *testing.T) string {
	t.Helper()

	bin := os.Getenv("TDS_ETCD_BIN")
	if bin == "" {
		bin = "/usr/bin/etcd"
	}

	if _, err := os.Stat(bin); err != nil {
		t.Skipf("etcd is not installed (%s): %v", bin, err)
	}

	dir := t.TempDir()
	logPath := filepath.Join(dir, "etcd.log")
	ports := freePorts(t, 2)
	client := fmt.Sprintf("127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])

	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() //nolint:errcheck

	cmd := exec.Command(bin, "--name=m0", "--data-dir="+filepath.Join(dir, "data"),
		"--listen-client-urls=http://"+client, "--advertise-client-urls=http://"+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=m0="+peer, "--initial-cluster-state=new",
		"--logger=zap", "--log-outputs=stderr")
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	if runtime.GOARCH == "arm64" {
		// etcd 3.4 refuses to start on arm64 unless told the architecture is accepted.
		cmd.Env = append(os.Environ(), "ETCD_UNSUPPORTED_ARCH=arm64")
	}

	if err = cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}

	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck
		cmd.Wait()         //nolint:errcheck

		if t.Failed() {
			t.Logf("etcd log:\n%s", readLog(logPath))
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(readLog(logPath), "serving client traffic") {
			return client
		}

		time.Sleep(20 * time.Millisecond)
	}

	t.Fatalf("etcd did not serve clients within 30s:\n%s", readLog(logPath))

	return ""
}

// replicas starts an etcd and three discovery-service replicas on it; client i dials replica
// i mod 3.
func replicas(t *testing.T) endpointOf {
	t.Helper()

	etcd := startEtcd(t)

	servers := make([]*server, 3)
	for i := range servers {
		servers[i] = startServer(t, "--gc-interval", "1s", "--etcd-endpoints", etcd)
	}

	return func(i int) string { return servers[i%len(servers)].endpoint }
}

func TestReplicasTwoClientsDiscoverUpdateDelete(t *testing.T) {
	t.Parallel()
	testTwoClientsDiscoverUpdateDelete(t, replicas(t))
}

func TestReplicasStoppedClientExpiresAfterTTL(t *testing.T) {
	t.Parallel()
	testStoppedClientExpiresAfterTTL(t, replicas(t))
}

// Fifty clients join one cluster at once through three replicas: their creations take turns in
// etcd, and none may fail.
func TestReplicasFiftyClientsConverge(t *testing.T) {
	t.Parallel()
	testFiftyClientsConverge(t, replicas(t))
}
