package quic

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

type chunk struct {
	off  uint64
	data string
}

// readAll pushes the chunks in order and returns everything Read gave.
func readAll(t *testing.T, c *CryptoStream, chunks []chunk) (string, []error) {
	t.Helper()
	var out []byte
	var errs []error
	for _, ch := range chunks {
		if err := c.Push(ch.off, []byte(ch.data)); err != nil {
			errs = append(errs, err)
		}
		out = append(out, c.Read()...)
	}
	return string(out), errs
}

func TestCryptoStream(t *testing.T) {
	for _, tt := range []struct {
		name   string
		chunks []chunk
		want   string
		dups   int
	}{
		{"in order", []chunk{{0, "abc"}, {3, "def"}}, "abcdef", 0},
		{"reversed", []chunk{{3, "def"}, {0, "abc"}}, "abcdef", 0},
		{"gap filled last", []chunk{{0, "ab"}, {4, "ef"}, {2, "cd"}}, "abcdef", 0},
		{"duplicate", []chunk{{0, "abc"}, {0, "abc"}, {3, "d"}}, "abcd", 1},
		{"overlap, first bytes win", []chunk{{2, "CD"}, {0, "abcdef"}}, "abCDef", 0},
		{"overlap across read", []chunk{{0, "abc"}, {1, "XYZd"}}, "abcZd", 0},
		{"covered by a held piece", []chunk{{2, "cdef"}, {3, "de"}, {0, "ab"}}, "abcdef", 1},
		{"bridges three pieces", []chunk{{1, "b"}, {3, "d"}, {5, "f"}, {0, "ABCDEFG"}}, "AbCdEfG", 0},
		{"empty frames", []chunk{{0, ""}, {5, ""}, {0, "a"}}, "a", 0},
		{"no start", []chunk{{1, "bcd"}}, "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c CryptoStream
			got, errs := readAll(t, &c, tt.chunks)
			if got != tt.want || len(errs) != 0 || c.Duplicates != tt.dups {
				t.Errorf("got %q errs %v dups %d, want %q dups %d", got, errs, c.Duplicates, tt.want, tt.dups)
			}
		})
	}
}

func TestCryptoStreamBounds(t *testing.T) {
	c := CryptoStream{MaxBuffered: 8, MaxOffset: 32}
	for _, tt := range []struct {
		off uint64
		n   int
		ok  bool
	}{
		{1<<62 - 2, 1, false},      // near 2^62: refused, not allocated
		{^uint64(0) - 1, 4, false}, // end overflows
		{30, 4, false},             // past MaxOffset
		{4, 5, false},              // would hold 9 > 8 bytes past offset 0
		{4, 4, true},
		{0, 4, true}, // reads 8
		{12, 4, true},
		{8, 4, true},   // fills the gap: reads to 16
		{31, 1, false}, // would hold 16 > 8 bytes past 16
	} {
		err := c.Push(tt.off, make([]byte, tt.n))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrCryptoBound)) {
			t.Errorf("Push(%d, %d bytes): %v", tt.off, tt.n, err)
		}
		c.Read()
	}
	if c.Rejected != 5 || c.Offset() != 16 || cap(c.buf) > 8 {
		t.Errorf("rejected %d offset %d cap %d", c.Rejected, c.Offset(), cap(c.buf))
	}
	// Gaps are bounded too.
	var g CryptoStream
	var err error
	for i := range DefaultMaxGaps + 1 {
		err = g.Push(uint64(2*i+1), []byte{1})
	}
	if !errors.Is(err, ErrCryptoBound) || g.Rejected != 1 {
		t.Errorf("%d gaps: %v", DefaultMaxGaps+1, err)
	}
}

// TestCryptoToTLSParse reassembles the ClientHello of RFC 9001, Appendix
// A.2 cut into pieces pushed out of order, feeds it to tlsparse and checks
// what the RFC's ClientHello says: SNI example.com, ALPN "alpn", TLS 1.3
// offered.
func TestCryptoToTLSParse(t *testing.T) {
	fs, err := cryptoFrames(t, unhex(t, v1ClientCrypto), FramesHandshake)
	if err != nil || len(fs) != 1 {
		t.Fatal(err)
	}
	data := fs[0].Data
	var c CryptoStream
	var a tlsparse.Assembler
	var msgs []tlsparse.Message
	for _, r := range [][2]int{{100, 180}, {40, 120}, {180, len(data)}, {0, 60}} {
		if err := c.Push(uint64(r[0]), data[r[0]:r[1]]); err != nil {
			t.Fatal(err)
		}
		if b := c.Read(); len(b) > 0 {
			a.Write(b)
			for {
				m, err := a.Next()
				if err != nil {
					break
				}
				m.Body = bytes.Clone(m.Body)
				msgs = append(msgs, m)
			}
		}
	}
	if len(msgs) != 1 || msgs[0].Type != tlsparse.TypeClientHello {
		t.Fatalf("messages %v", msgs)
	}
	ch, err := tlsparse.ParseClientHello(msgs[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ServerName != "example.com" || len(ch.ALPN) != 1 || ch.ALPN[0] != "alpn" || !ch.OffersTLS13() {
		t.Errorf("sni %q alpn %q tls13 %v", ch.ServerName, ch.ALPN, ch.OffersTLS13())
	}
}
