// Runs one of our binaries for the interop tests, its output in a log file, and stops it with
// SIGTERM when the test ends.
package interop

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startProcess runs bin with its output in logPath. It must still be running when the test ends;
// then it is sent SIGTERM and waited for, and must exit 0 (a clean shutdown). Its log is shown if
// the test failed.
func startProcess(t *testing.T, name, bin string, args []string, logPath string) {
	t.Helper()

	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() //nolint:errcheck

	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// If the test binary dies without running cleanups, the kernel still stops the process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	if err = cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	t.Cleanup(func() {
		select {
		case err := <-done:
			t.Errorf("%s exited before the test stopped it (%v)", name, err)
		default:
			cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck

			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: after SIGTERM: %v", name, err)
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill() //nolint:errcheck
				<-done
				t.Errorf("%s did not stop within 30s of SIGTERM; killed", name)
			}
		}

		if t.Failed() {
			t.Logf("%s %s log:\n%s", name, strings.Join(args, " "), readLog(logPath))
		}
	})
}

func readLog(path string) string {
	data, _ := os.ReadFile(path) //nolint:errcheck

	return string(data)
}
