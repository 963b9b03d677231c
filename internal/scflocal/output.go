package scflocal

import (
	"io"
	"sync"
)

// tailSize is how much of the function's latest output is kept for error
// messages.
const tailSize = 4 << 10

// instanceOutput receives one instance's stdout and stderr: it forwards them
// to the runtime's log and keeps the last tailSize bytes so that a crash can
// be explained. Hand-written: it is a few lines and no library in go.mod
// offers a bounded tail buffer.
type instanceOutput struct {
	log io.Writer

	mu   sync.Mutex
	tail []byte
}

// Write forwards p to the log and keeps its tail.
func (o *instanceOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.tail = append(o.tail, p...)
	if over := len(o.tail) - tailSize; over > 0 {
		o.tail = append(o.tail[:0], o.tail[over:]...)
	}
	o.mu.Unlock()
	// A failing log destination must not break the function's pipe: the
	// child would see EPIPE and behave differently from the cloud.
	_, _ = o.log.Write(p)
	return len(p), nil
}

// Tail returns the latest output of the instance.
func (o *instanceOutput) Tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.tail)
}
