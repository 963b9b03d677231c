//go:build linux

package scflocal

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// sysProcAttr puts the function in its own process group, so that stopping
// it also stops anything it started, and asks the kernel to kill it if
// scf-local itself dies, so that no instance outlives its runtime.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the function's process group.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && err != syscall.ESRCH {
		return err
	}
	return nil
}

// peakRSS is the process's peak resident set size (VmHWM in
// /proc/<pid>/status), 0 when it cannot be read.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(data), "\nVmHWM:")
	var kb int64
	if _, err := fmt.Sscanf(rest, "%d kB", &kb); err != nil {
		return 0
	}
	return kb * 1024
}
