//go:build unix

package scflocal

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// socketPair returns a connected pair of Unix-domain sockets: the runtime's
// end as a connection, the function's as a file for exec.Cmd.ExtraFiles.
// Both are close-on-exec, set under ForkLock as the net package does, so
// that no other instance started meanwhile inherits them; os/exec clears
// the flag on the one it passes.
func socketPair() (net.Conn, *os.File, error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("scflocal: socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "scf-local runtime")
	defer mine.Close() // FileConn holds its own copy
	conn, err := net.FileConn(mine)
	if err != nil {
		_ = syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("scflocal: socketpair: %w", err)
	}
	return conn, os.NewFile(uintptr(fds[1]), "scf-local function"), nil
}
