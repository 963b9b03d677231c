package handler

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scf-dbbrain/addusercontact/internal/contact"
	"github.com/scf-dbbrain/addusercontact/internal/dbbrain"
	"github.com/scf-dbbrain/addusercontact/internal/emulator"
)

// BenchmarkDecodeAndValidate is the work the handler does on an event before
// any call: read, then contact validation, for each sample event of
// events/ (a record trigger's records each).
func BenchmarkDecodeAndValidate(b *testing.B) {
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		b.Fatalf("no sample events in ../../events: %v", err)
	}
	v, err := contact.NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	for _, file := range files {
		payload, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				d, err := read(payload)
				if err != nil {
					continue
				}
				if !d.source.records() {
					_, _ = v.Decode(d.params, "ap-guangzhou")
				}
				for _, r := range d.records {
					if r.err == nil {
						_, _ = v.Decode(r.params, "ap-guangzhou")
					}
				}
			}
		})
	}
}

// BenchmarkInvokeSingle is one warm single-contact invocation, end to end
// in process: Invoke, the SDK call over loopback HTTP to an emulator with
// no rate limit, and the answer. The emulator's work and allocations are
// counted too, since it runs in this process.
func BenchmarkInvokeSingle(b *testing.B) {
	h := newBenchHandler(b)
	invoke := func(i int) {
		payload := fmt.Appendf(nil, `{"Name":"single_%07d","ContactInfo":"single.%07d@example.com","Product":"mysql"}`, i, i)
		ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
		defer cancel()
		out, err := h.Invoke(ctx, payload)
		if err != nil || !strings.Contains(string(out), `"Id":`) {
			b.Fatalf("invocation %d: %s %v", i, out, err)
		}
	}
	invoke(0) // warm: the first connection and the limiter's first slot
	b.ReportAllocs()
	i := 1
	for b.Loop() {
		invoke(i)
		i++
	}
}

// benchBatchSize is BenchmarkInvokeBatch100's batch.
const benchBatchSize = 100

// BenchmarkInvokeBatch100 is one warm invocation of a 100-contact batch
// against an emulator with no rate limit. The function's own limiter cannot
// be lifted (DBBRAIN_RPS is at most 1000), so an operation takes at least
// 100 calls at 990/s ≈ 101 ms; the figure shows what the function costs
// above that floor, and its allocations per batch.
func BenchmarkInvokeBatch100(b *testing.B) {
	h := newBenchHandler(b)
	invoke := func(i int) {
		var p strings.Builder
		p.WriteString(`{"Contacts":[`)
		for j := range benchBatchSize {
			if j > 0 {
				p.WriteByte(',')
			}
			fmt.Fprintf(&p, `{"Name":"batch_%06d_%03d","ContactInfo":"batch.%06d.%03d@example.com"}`, i, j, i, j)
		}
		p.WriteString(`]}`)
		ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
		defer cancel()
		out, err := h.Invoke(ctx, []byte(p.String()))
		if err != nil || !strings.Contains(string(out), fmt.Sprintf(`"SucceededCount":%d,`, benchBatchSize)) {
			b.Fatalf("invocation %d: %.500s %v", i, out, err)
		}
	}
	invoke(0)
	b.ReportAllocs()
	i := 1
	for b.Loop() {
		invoke(i)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatchSize), "ns/item")
}

// Keys of the benchmark's emulator: an execution role's temporary key.
const (
	benchSecretID  = "AKIDbenchTESTexample000000000000000"
	benchSecretKey = "benchSECRETkeyTESTexample00000000"
	benchToken     = "benchSESSIONtokenTESTexample0000000000000000000000"
)

// newBenchHandler returns a Handler wired, as in production, to an emulator
// on loopback with no rate limit; everything stops when b ends.
func newBenchHandler(b *testing.B) *Handler {
	b.Helper()
	emu, err := emulator.New(emulator.Config{
		Keys: []emulator.Key{{SecretID: benchSecretID, SecretKey: benchSecretKey, Token: benchToken}},
		RPS:  -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	env := map[string]string{
		"TENCENTCLOUD_SECRETID":     benchSecretID,
		"TENCENTCLOUD_SECRETKEY":    benchSecretKey,
		"TENCENTCLOUD_SESSIONTOKEN": benchToken,
		"DBBRAIN_ENDPOINT":          srv.URL,
		// The most the configuration allows: the emulator has no limit.
		"DBBRAIN_RPS": "1000",
	}
	// As main wires it: a transport shared by every call of the process.
	h, err := New(Deps{Getenv: func(k string) string { return env[k] }, Transport: dbbrain.NewTransport(20), Fallback: noFallback{}})
	if err != nil {
		srv.Close()
		_ = emu.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		h.Close()
		srv.Close()
		_ = emu.Close()
	})
	return h
}
