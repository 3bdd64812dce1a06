// Starts our discovery-service binary for the interop tests: on 127.0.0.1:0, port read from its
// log, stopped with SIGTERM (and reaped) when the test ends, whether it passed or not.
package interop

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

var listeningPort = regexp.MustCompile(`event=listening .*? port=([0-9]+)`)

// server is one running discovery-service process.
type server struct {
	endpoint string // "127.0.0.1:<port>", what clients dial
	logPath  string
}

// startServer runs the binary named by $DISCOVERY_SERVICE_BIN with extra flags.
func startServer(t *testing.T, flags ...string) *server {
	t.Helper()

	bin := os.Getenv("DISCOVERY_SERVICE_BIN")
	if bin == "" {
		t.Fatal("DISCOVERY_SERVICE_BIN is not set (ctest sets it to the built discovery-service)")
	}

	// A file instead of a pipe: nobody has to keep draining it, and it is there to show on failure.
	logPath := filepath.Join(t.TempDir(), "discovery-service.log")

	// Only the gRPC port: no fixed HTTP ports (tests run in parallel), no snapshot file, and no
	// per-IP rate limit, since every client here is 127.0.0.1.
	args := append([]string{
		"--addr", "127.0.0.1:0", "--landing-addr", "", "--metrics-addr", "",
		"--snapshots-enabled=false", "--rate-limit", "0", "--log-level", "debug",
	}, flags...)
	startProcess(t, "discovery-service", bin, args, logPath)

	srv := &server{logPath: logPath}

	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningPort.FindStringSubmatch(srv.log()); m != nil {
			srv.endpoint = "127.0.0.1:" + m[1]

			return srv
		}

		time.Sleep(20 * time.Millisecond)
	}

	t.Fatalf("discovery-service did not report its port within 30s:\n%s", srv.log())

	return nil
}

func (s *server) log() string { return readLog(s.logPath) }
