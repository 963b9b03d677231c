package syncio

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWrites(t *testing.T) {
	var buf Buffer
	var under bytes.Buffer
	w := NewWriter(&under)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = buf.Write([]byte("line\n"))
				_, _ = w.Write([]byte("line\n"))
				_ = buf.String()
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(buf.String(), "line\n"); n != 800 || buf.Len() != 800*5 {
		t.Errorf("buffer holds %d lines", n)
	}
	if n := strings.Count(under.String(), "line\n"); n != 800 {
		t.Errorf("writer passed %d lines", n)
	}
}
