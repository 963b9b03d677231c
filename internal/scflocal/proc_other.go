//go:build !linux

package scflocal

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr: outside Linux the function runs without its own process group
// or a parent-death signal; SCF functions are Linux binaries, so this is a
// best effort only.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup signals only the process itself outside Linux.
func signalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := p.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// peakRSS is not measured outside Linux (there is no /proc/<pid>/status).
func peakRSS(int) (int64, error) { return 0, errors.ErrUnsupported }
