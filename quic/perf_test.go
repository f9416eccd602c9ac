package quic

import (
	"io"
	"testing"
)

// openAndWalk is the per-packet work of an observer: parse, open, walk
// the frames, push the CRYPTO data.
func openAndWalk(tb testing.TB, dg []byte, o *Opener, r *FrameReader, c *CryptoStream) {
	p, _, err := NextPacket(dg, -1)
	if err != nil {
		tb.Fatal(err)
	}
	payload, _, err := o.Open(&p)
	if err != nil {
		tb.Fatal(err)
	}
	r.Reset(payload, FramesHandshake)
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if err := c.Push(f.Offset, f.Data); err != nil {
			tb.Fatal(err)
		}
		c.Read()
	}
	c.Reset()
}

// TestAllocs pins the promise of doc.go: once an Opener, FrameReader and
// CryptoStream have their buffers, a packet costs no allocation.
func TestAllocs(t *testing.T) {
	dg := unhex(t, v1ClientPacket)
	c, _, err := InitialKeys(Version1, rfcDCID)
	if err != nil {
		t.Fatal(err)
	}
	o := NewOpener(c)
	var r FrameReader
	var cs CryptoStream
	openAndWalk(t, dg, o, &r, &cs) // warm: buffers grow once
	if n := testing.AllocsPerRun(100, func() { openAndWalk(t, dg, o, &r, &cs) }); n != 0 {
		t.Errorf("%v allocations per packet, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { Looks(dg) }); n != 0 {
		t.Errorf("Looks: %v allocations, want 0", n)
	}
}

// BenchmarkLooksNotQUIC is the cost of Looks on UDP that is not QUIC: a
// DNS query, and a long-header look-alike with an unknown version.
func BenchmarkLooksNotQUIC(b *testing.B) {
	for _, bb := range []struct {
		name string
		hex  string
	}{
		{"dns", "abcd01000001000000000000076578616d706c6503636f6d0000010001"},
		{"unknown-version", "c0ff00001d088394c8f03e5157080000449e"},
	} {
		dg := unhex(b, bb.hex)
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if Looks(dg) {
					b.Fatal("looks like QUIC")
				}
			}
		})
	}
}

func BenchmarkLooksInitial(b *testing.B) {
	dg := unhex(b, v1ClientPacket)
	for b.Loop() {
		if !Looks(dg) {
			b.Fatal("not QUIC")
		}
	}
}

// BenchmarkOpenInitial opens the 1200-byte client Initial of RFC 9001,
// Appendix A.2 and walks its frames.
func BenchmarkOpenInitial(b *testing.B) {
	dg := unhex(b, v1ClientPacket)
	c, _, err := InitialKeys(Version1, rfcDCID)
	if err != nil {
		b.Fatal(err)
	}
	o := NewOpener(c)
	var r FrameReader
	var cs CryptoStream
	b.SetBytes(int64(len(dg)))
	b.ReportAllocs()
	for b.Loop() {
		openAndWalk(b, dg, o, &r, &cs)
	}
}

func BenchmarkInitialKeys(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := InitialKeys(Version1, rfcDCID); err != nil {
			b.Fatal(err)
		}
	}
}
