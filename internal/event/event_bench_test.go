package event

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDecode decodes every sample event of events/ once per operation
// (every trigger shape, valid and invalid contacts alike: decoding does not
// judge them). Per-sample figures, with validation, are
// handler.BenchmarkDecodeAndValidate's.
func BenchmarkDecode(b *testing.B) {
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		b.Fatalf("no sample events in ../../events: %v", err)
	}
	payloads := make([][]byte, len(files))
	var size int64
	for i, file := range files {
		if payloads[i], err = os.ReadFile(file); err != nil {
			b.Fatal(err)
		}
		size += int64(len(payloads[i]))
	}
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		for _, p := range payloads {
			_, _ = Decode(p)
		}
	}
}
