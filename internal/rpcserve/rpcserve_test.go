//go:build unix

package rpcserve

import (
	"context"
	"net"
	"net/rpc"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	"github.com/tencentyun/scf-go-lib/functioncontext"
)

// socketPair is what internal/scflocal hands the function: the test keeps
// one end as a connection and gives the other's fd, which Inherited takes
// over, to the code under test.
func socketPair(t *testing.T) (net.Conn, int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine := os.NewFile(uintptr(fds[0]), "runtime end")
	defer mine.Close()
	conn, err := net.FileConn(mine)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn, fds[1]
}

// fdEnv names fd in EnvFD, as scflocal does.
func fdEnv(fd int) func(string) string {
	return func(k string) string {
		if k == EnvFD {
			return strconv.Itoa(fd)
		}
		return ""
	}
}

// dup is a copy of f's descriptor for Inherited to take over.
func dup(t *testing.T, f *os.File) string {
	t.Helper()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(fd)
}

type handlerFunc func(context.Context, []byte) ([]byte, error)

func (h handlerFunc) Invoke(ctx context.Context, p []byte) ([]byte, error) { return h(ctx, p) }

// The inherited connection carries scf-go-lib's own Function: Ping answers,
// and Invoke sets the Environment, the deadline and the function context
// before calling the handler, and turns a panic into ShouldExit.
func TestServeRunsTheLibrarysFunction(t *testing.T) {
	t.Setenv("RPCSERVE_TEST_ROLE", "") // restored after the library's os.Setenv
	runtimeEnd, functionEnd := socketPair(t)
	conn, err := Inherited(fdEnv(functionEnd))
	if err != nil {
		t.Fatal(err)
	}
	h := handlerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
		if string(p) == "panic" {
			panic("boom")
		}
		fc, _ := functioncontext.FromContext(ctx)
		_, hasDeadline := ctx.Deadline()
		return []byte(fc.RequestID + " " + os.Getenv("RPCSERVE_TEST_ROLE") + " " + strconv.FormatBool(hasDeadline) + " " + string(p)), nil
	})
	served := make(chan error, 1)
	go func() { served <- Serve(t.Context(), conn, h) }()

	client := rpc.NewClient(runtimeEnd)
	if err := client.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	deadline := time.Now().Add(time.Minute)
	req := &messages.InvokeRequest{Payload: []byte("hello"), RequestId: "req-1", Environment: `{"RPCSERVE_TEST_ROLE":"role-key"}`,
		Deadline: messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())}}
	var resp messages.InvokeResponse
	if err := client.Call("Function.Invoke", req, &resp); err != nil || resp.Error != nil {
		t.Fatalf("Invoke: %v %+v", err, resp.Error)
	}
	if got := string(resp.Payload); got != "req-1 role-key true hello" {
		t.Errorf("the handler saw %q", got)
	}
	req.Payload, resp = []byte("panic"), messages.InvokeResponse{}
	if err := client.Call("Function.Invoke", req, &resp); err != nil || resp.Error == nil || !resp.Error.ShouldExit {
		t.Errorf("panic: %v %+v", err, resp.Error)
	}
	// The runtime hanging up ends Serve: a local instance never outlives it.
	_ = client.Close()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestServeStopsWithTheContext(t *testing.T) {
	_, functionEnd := socketPair(t)
	conn, err := Inherited(fdEnv(functionEnd))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, conn, handlerFunc(nil)) }()
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// Unset, the process is in the cloud and StartHandler serves; anything that
// is not a Unix-domain connection makes the process refuse to start.
func TestInheritedRefusesWhatCannotConfine(t *testing.T) {
	if conn, err := Inherited(func(string) string { return "" }); conn != nil || err != nil {
		t.Errorf("unset: %v, %v", conn, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcp, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	regular, err := os.CreateTemp(t.TempDir(), "not-a-socket")
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	for name, value := range map[string]string{
		"not a number": "three", "negative": "-3", "a regular file": dup(t, regular), "a TCP listener": dup(t, tcp),
	} {
		conn, err := Inherited(func(string) string { return value })
		if conn != nil || err == nil || !strings.Contains(err.Error(), "refusing to start when it cannot be confined") {
			t.Errorf("%s: %v, %v", name, conn, err)
		}
	}
}

// Should scf-go-lib rename or retype Function's handler, Serve refuses.
func TestSetFieldRefusesAnotherShape(t *testing.T) {
	var h cloudfunction.Handler = handlerFunc(nil)
	var renamed struct{ fn cloudfunction.Handler }
	var retyped struct{ handler func() }
	for name, ptr := range map[string]any{"renamed": &renamed, "retyped": &retyped} {
		if err := setField(ptr, "handler", h); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := setField(&renamed, "fn", nil); err == nil {
		t.Error("nil: no error")
	}
	fn := new(cloudfunction.Function)
	if err := setField(fn, "handler", h); err != nil {
		t.Fatalf("scf-go-lib's Function: %v", err)
	}
	if err := Serve(t.Context(), &net.UnixConn{}, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("Serve with no handler: %v", err)
	}
}
