//go:build unix

package emulator

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path (created if need be) and
// returns its release. flock locks belong to the open file, so two Servers
// in one process exclude each other too.
func lockFile(path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err == nil {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			_ = f.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	return f.Close, nil // closing releases the lock
}
