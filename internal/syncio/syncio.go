// Package syncio has writers that several goroutines may share: a function's
// output copier, a runtime's platform lines and loggers all write to one
// destination, and tests read what they wrote while it is still being
// written.
package syncio

import (
	"bytes"
	"io"
	"sync"
)

// Writer serialises writes to one destination.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer around w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes p to the destination while holding the lock.
func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Buffer is a bytes.Buffer safe for concurrent writes and reads. The zero
// value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Len returns the number of bytes written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}
