//go:build !unix

package emulator

import "os"

// lockFile only creates path: without flock, processes sharing a state
// file on this platform may lose contacts (one process is safe).
func lockFile(path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return f.Close, nil
}
