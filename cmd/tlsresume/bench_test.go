package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// BenchmarkFile runs the whole command on the capture named by
// $TLSRESUME_BENCH_FILE (for example /tmp/bench/small.pcap from
// ../shared/bench/mkcapture.sh, or one from cmd/tlsgen).
func BenchmarkFile(b *testing.B) {
	path := os.Getenv("TLSRESUME_BENCH_FILE")
	if path == "" {
		b.Skip("TLSRESUME_BENCH_FILE is not set")
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		if code := run(context.Background(), []string{"-r", path}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
