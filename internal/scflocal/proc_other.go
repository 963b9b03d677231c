//go:build !linux

package scflocal

import (
	"os"
	"syscall"
)

// Outside Linux, a best effort (SCF functions are Linux binaries): no
// process group, no parent-death signal, no peak memory.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, sig syscall.Signal) error {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Signal(sig)
	}
	return nil
}

func peakRSS(int) int64 { return 0 }
