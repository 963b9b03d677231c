package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/envelope"
	"github.com/scf-dbbrain/addusercontact/internal/scflocal"
)

// function is one instance of the built function under scflocal, with its
// output captured for parsing.
type function struct {
	rt   *scflocal.Runtime
	logs *logBuffer
}

// functionSpec says how to run the function for one scenario.
type functionSpec struct {
	bin     string
	timeout time.Duration
	// env is the invocation Environment; the non-secret entries are also set
	// at process start, as SCF does with a function's configured variables.
	env map[string]string
	// tee, when not nil, also receives the function's output (the --logs
	// files).
	tee io.Writer
}

func startFunction(ctx context.Context, s functionSpec) (*function, error) {
	logs := &logBuffer{tee: s.tee}
	cfg := scflocal.Config{
		Binary:  s.bin,
		Timeout: s.timeout,
		Env:     s.env,
		Stderr:  logs,
	}
	cfg.ProcessEnv = scflocal.BaseProcessEnv(cfg)
	for _, k := range slices.Sorted(maps.Keys(s.env)) {
		switch k {
		case "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN":
			// SCF hands the role's keys to each invocation, not to the
			// process.
			continue
		}
		cfg.ProcessEnv = append(cfg.ProcessEnv, k+"="+s.env[k])
	}
	rt, err := scflocal.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.bin, err)
	}
	return &function{rt: rt, logs: logs}, nil
}

// Close stops the process; its output is complete once Close returns.
func (f *function) Close() error { return f.rt.Close() }

// logBuffer collects the function's output; the runtime writes it from
// another goroutine.
type logBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	tee io.Writer
}

// Write appends p under the lock.
func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tee != nil {
		_, _ = l.tee.Write(p) // the copy is a convenience; the buffer is what counts
	}
	return l.b.Write(p)
}

// Bytes returns a copy of everything written so far.
func (l *logBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// openLog creates dir/name for a scenario's function output, or returns a
// nil writer when dir is "" (no log files asked for).
func openLog(dir, name string) (io.Writer, func() error, error) {
	if dir == "" {
		return nil, func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating the log directory: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, nil, fmt.Errorf("creating the log file: %w", err)
	}
	return f, f.Close, nil
}

// contactIn is one contact of a batch as the caller sends it.
type contactIn struct {
	Name        string `json:"Name"`
	ContactInfo string `json:"ContactInfo"`
	Product     string `json:"Product"`
}

// newContacts returns n distinct valid contacts. Every fifth name is
// Chinese, as the API page's own example is, so that the non-ASCII path is
// measured too. Names are fixed-width so that none is a substring of
// another (DescribeAllUserContact matches names as substrings).
func newContacts(prefix string, n int) []contactIn {
	out := make([]contactIn, n)
	for i := range out {
		name := fmt.Sprintf("%s_%04d", prefix, i+1)
		if i%5 == 4 {
			name = fmt.Sprintf("联系人_%s_%04d", prefix, i+1)
		}
		out[i] = contactIn{Name: name, ContactInfo: fmt.Sprintf("%s.%04d@example.com", prefix, i+1), Product: "mysql"}
	}
	return out
}

func batchPayload(cs []contactIn) []byte {
	b, _ := json.Marshal(struct{ Contacts []contactIn }{cs}) // strings only: cannot fail
	return b
}

func singlePayload(c contactIn) []byte {
	b, _ := json.Marshal(c) // strings only: cannot fail
	return b
}

// answer is the function's answer: a batch envelope, a single contact's
// success, or an error envelope.
type answer struct {
	Response struct {
		Results        []envelope.Result   `json:"Results"`
		SucceededCount int                 `json:"SucceededCount"`
		FailedCount    int                 `json:"FailedCount"`
		ID             *int64              `json:"Id"`
		Error          *envelope.ErrorBody `json:"Error"`
		RequestID      string              `json:"RequestId"`
	} `json:"Response"`
}

// invocation is one invocation's result as the bench reads it.
type invocation struct {
	res *scflocal.Result
	// answer is decoded from the payload, or from a RetryableError's
	// message, which carries the same envelope (the function returns it as
	// a function error so that SCF retries an asynchronous invocation).
	answer answer
	// decoded is false when neither held an envelope (a timeout, a panic).
	decoded bool
}

func (f *function) invoke(ctx context.Context, payload []byte) (invocation, error) {
	res, err := f.rt.Invoke(ctx, payload)
	if err != nil {
		return invocation{}, fmt.Errorf("invoking the function: %w", err)
	}
	inv := invocation{res: res}
	body := res.Payload
	if res.FunctionError != nil {
		body = []byte(res.FunctionError.Message)
	}
	inv.decoded = json.Unmarshal(body, &inv.answer) == nil
	return inv, nil
}

// failure describes an invocation that did not answer normally, or "".
func (inv invocation) failure() string {
	switch {
	case inv.res.TimedOut:
		return fmt.Sprintf("timed out after %s", inv.res.Timeout)
	case inv.res.FunctionError != nil && !inv.decoded:
		return fmt.Sprintf("function error %s: %.200s", inv.res.FunctionError.Type, inv.res.FunctionError.Message)
	case !inv.decoded:
		return fmt.Sprintf("answer is not an envelope: %.200s", inv.res.Payload)
	}
	return ""
}
