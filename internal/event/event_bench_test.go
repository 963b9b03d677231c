package event

import (
	"os"
	"testing"

	"github.com/go-json-experiment/json"
)

// BenchmarkDecode decodes every sample into its event type once per
// operation. Detection and the reading of requests are the handler's
// (handler benchmarks).
func BenchmarkDecode(b *testing.B) {
	type sample struct {
		data []byte
		new  func() any
	}
	var all []sample
	var size int64
	for _, file := range samples(b) {
		if typeFor(file) == nil {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, sample{data, func() any { return typeFor(file) }})
		size += int64(len(data))
	}
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		for _, s := range all {
			if err := json.Unmarshal(s.data, s.new()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
