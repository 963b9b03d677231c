//go:build !unix

package scflocal

import (
	"errors"
	"net"
	"os"
)

// socketPair is Unix only: SCF functions are Linux binaries, and the local
// runtime confines them to an inherited Unix-domain connection.
func socketPair() (net.Conn, *os.File, error) {
	return nil, nil, errors.New("scflocal: running a function needs Linux or macOS")
}
