package main

import (
	"context"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHostileProfile runs the command on the capture named by
// TLSRESUME_PROFILE (for example one written by internal/hostile) and
// writes a heap profile taken when the heap in use was largest to
// TLSRESUME_PROFILE_OUT (default heap.pprof), for
// `go tool pprof -sample_index=inuse_space`. Flags can be added with
// TLSRESUME_PROFILE_FLAGS. Skipped without TLSRESUME_PROFILE.
func TestHostileProfile(t *testing.T) {
	in := os.Getenv("TLSRESUME_PROFILE")
	if in == "" {
		t.Skip("TLSRESUME_PROFILE=FILE names the capture to profile")
	}
	out := os.Getenv("TLSRESUME_PROFILE_OUT")
	if out == "" {
		out = "heap.pprof"
	}
	runtime.MemProfileRate = 64 << 10
	var (
		mu   sync.Mutex
		peak uint64
		prof []byte
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse <= peak*11/10 {
			return
		}
		runtime.GC()
		var b strings.Builder
		if err := pprof.Lookup("heap").WriteTo(&b, 0); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		peak, prof = ms.HeapInuse, []byte(b.String())
		mu.Unlock()
	}
	done := make(chan struct{})
	go func() {
		tk := time.NewTicker(250 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				sample()
			}
		}
	}()
	args := append([]string{"-r", in}, strings.Fields(os.Getenv("TLSRESUME_PROFILE_FLAGS"))...)
	start := time.Now()
	code := run(context.Background(), args, strings.NewReader(""), io.Discard, os.Stderr)
	close(done)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("exit %d in %v; peak heap in use %d MB (sampled), HeapSys %d MB", code, time.Since(start).Round(time.Millisecond), peak>>20, ms.HeapSys>>20)
	if err := os.WriteFile(out, prof, 0o644); err != nil {
		t.Fatal(err)
	}
}
