// Package rpcserve confines the function locally: scf-go-lib's StartHandler
// listens on 0.0.0.0, every interface of a laptop, so the local runtime hands
// the process one end of a Unix socket pair (no address to widen), where it
// serves the library's own cloudfunction.Function. In the cloud EnvFD is unset
// and StartHandler runs.
package rpcserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"reflect"
	"strconv"
	"unsafe"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
)

// EnvFD names the variable, set by the local tools only, that holds the fd.
const EnvFD = "SCF_LOCAL_RPC_FD"

// Inherited returns the connection the local runtime handed the process, nil
// when EnvFD is unset; it must be a Unix socket.
func Inherited(getenv func(string) string) (net.Conn, error) {
	v := getenv(EnvFD)
	if v == "" {
		return nil, nil
	}
	fd, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: refusing to start when it cannot be confined: %w", EnvFD, v, err)
	}
	f := os.NewFile(uintptr(fd), EnvFD)
	defer f.Close() // FileConn holds its own copy
	conn, err := net.FileConn(f)
	if _, unix := conn.(*net.UnixConn); unix {
		return conn, nil
	} else if err == nil {
		err = errors.Join(fmt.Errorf("a %s socket", conn.LocalAddr().Network()), conn.Close())
	}
	return nil, fmt.Errorf("%s=%d is no Unix-domain socket, refusing to start when it cannot be confined: %w", EnvFD, fd, err)
}

// Serve answers Function.Ping and Invoke on conn with scf-go-lib's code until
// the peer hangs up or ctx ends. Function has no constructor: its handler is
// set by reflection, and if that fails Serve refuses rather than listen.
func Serve(ctx context.Context, conn net.Conn, h cloudfunction.Handler) error {
	defer context.AfterFunc(ctx, func() { _ = conn.Close() })()
	fn, srv := new(cloudfunction.Function), rpc.NewServer()
	if err := setField(fn, "handler", h); err != nil {
		return fmt.Errorf("%w: refusing to start when it cannot be confined", err)
	} else if err := srv.Register(fn); err != nil {
		return fmt.Errorf("register scf-go-lib's Function: %w", err)
	}
	srv.ServeConn(conn) // closes conn, once the calls in flight are answered
	return nil
}

// setField sets the field name of the struct *ptr, exported or not, to v.
func setField(ptr any, name string, v any) error {
	f := reflect.ValueOf(ptr).Elem().FieldByName(name)
	if !f.IsValid() || v == nil || !reflect.TypeOf(v).AssignableTo(f.Type()) {
		return fmt.Errorf("%T has no field %s that takes a %T", ptr, name, v)
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(v))
	return nil
}
