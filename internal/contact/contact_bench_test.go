package contact

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecode decodes and validates requests already parsed into
// parameters: one contact (ASCII and Chinese names) and batches.
func BenchmarkDecode(b *testing.B) {
	v, err := NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, body string
		items      int
	}{
		{"single", `{"Name":"John Smith","ContactInfo":"test@qq.com","Product":"mysql"}`, 1},
		{"single-chinese", `{"Name":"张三","ContactInfo":"zhangsan@example.com"}`, 1},
		{"single-invalid", `{"Name":"_admin","ContactInfo":"not-an-email","Product":"redis"}`, 0},
		{"batch-100", benchBatch(100), 100},
		{"batch-1000", benchBatch(MaxBatch), MaxBatch},
	} {
		o, err := ParseJSON([]byte(c.body), "the event")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			// Checked once outside the loop, so that the benchmark cannot
			// silently measure a rejection.
			req, err := v.Decode(o, "ap-guangzhou")
			if valid := benchValid(req, err); valid != c.items {
				b.Fatalf("%d valid items, want %d (err %v)", valid, c.items, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = v.Decode(o, "ap-guangzhou")
			}
		})
	}
}

func benchBatch(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"Name":"bench_%04d","ContactInfo":"bench.%04d@example.com","Product":"mysql"}`, i, i)
	}
	return `{"Contacts":[` + strings.Join(items, ",") + `]}`
}

func benchValid(req Request, err error) int {
	if err != nil {
		return 0
	}
	n := 0
	for _, it := range req.Items {
		if it.Err == nil {
			n++
		}
	}
	return n
}
