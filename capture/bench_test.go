package capture

import (
	"bufio"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// benchSize is the size of the generated captures.
const benchSize = 50 << 20

// genCapture writes a capture of about size bytes to dir: pcap, pcapng, or
// pcap in gzip. Packet sizes follow a rough mix of TCP traffic: many
// acknowledgements, many full segments, some in between.
func genCapture(tb testing.TB, dir, kind string, size int) (path string, packets int) {
	tb.Helper()
	path = filepath.Join(dir, "bench."+kind)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out io.Writer = f
	var zw *gzip.Writer
	if kind == "pcap.gz" {
		zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		out = zw
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	// Payloads are slices of a pool at random offsets: incompressible, as
	// encrypted traffic is, gzip finding no repeats in its window.
	pool := make([]byte, 4<<20)
	for i := range pool {
		pool[i] = byte(rng.Uint32())
	}
	var write func(ci gopacket.CaptureInfo, data []byte) error
	flush := func() error { return nil }
	switch kind {
	case "pcap", "pcap.gz":
		w := pcapgo.NewWriterNanos(bw)
		if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
			tb.Fatal(err)
		}
		write = w.WritePacket
	case "pcapng":
		w, err := pcapgo.NewNgWriter(bw, layers.LinkTypeEthernet)
		if err != nil {
			tb.Fatal(err)
		}
		write, flush = w.WritePacket, w.Flush
	}
	ts := baseTime
	for written := 0; written < size; packets++ {
		n := 66
		switch r := rng.IntN(10); {
		case r >= 6:
			n = 1514
		case r >= 4:
			n = 100 + rng.IntN(1400)
		}
		ts = ts.Add(time.Duration(rng.IntN(100000)))
		off := rng.IntN(len(pool) - n)
		if err := write(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: n, Length: n}, pool[off:off+n]); err != nil {
			tb.Fatal(err)
		}
		written += n + 16
	}
	if err := flush(); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	return path, packets
}

func BenchmarkRead(b *testing.B) {
	for _, kind := range []string{"pcap", "pcapng", "pcap.gz"} {
		b.Run(kind, func(b *testing.B) {
			path, want := genCapture(b, b.TempDir(), kind, benchSize)
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(fi.Size())
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			total := 0
			for b.Loop() {
				src, err := OpenFiles([]string{path}, nil)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := src.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				src.Close()
				if n != want {
					b.Fatalf("read %d packets, want %d", n, want)
				}
				total += n
			}
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/pkt")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(total), "allocs/pkt")
		})
	}
}
