// A real kube-apiserver for the Kubernetes registry tests, built from the Go module proxy at the
// release go.mod pins. Test-only: machined never links or runs Go code.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
