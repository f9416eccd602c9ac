package tlsparse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// record wraps a fragment in a TLS record header.
func record(typ RecordType, frag []byte) []byte {
	return append([]byte{byte(typ), 3, 3, byte(len(frag) >> 8), byte(len(frag))}, frag...)
}

// message wraps a body in a handshake header.
func message(typ HandshakeType, body []byte) []byte {
	n := len(body)
	return append([]byte{byte(typ), byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// drainFramer reads records until the Framer needs more bytes.
func drainFramer(tb testing.TB, f *Framer) int {
	n := 0
	for {
		_, err := f.Next()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

func drainAssembler(tb testing.TB, a *Assembler) int {
	n := 0
	for {
		_, err := a.Next()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// TestFramerAllocs pins the doc's promise: records that lie wholly inside
// one Write are read from the caller's slice, with no allocation.
func TestFramerAllocs(t *testing.T) {
	ch := goMessagesOfType(t, recordGoHandshakes(t).tls13Full, false, TypeClientHello)[0]
	var flight []byte
	flight = append(flight, record(RecordHandshake, message(TypeClientHello, ch))...)
	flight = append(flight, record(RecordChangeCipherSpec, []byte{1})...)
	flight = append(flight, record(RecordApplicationData, bytes.Repeat([]byte{0xaa}, 1000))...)
	var f Framer
	if allocs := testing.AllocsPerRun(1000, func() {
		f.Write(flight)
		if n := drainFramer(t, &f); n != 3 {
			t.Fatalf("%d records", n)
		}
	}); allocs != 0 {
		t.Errorf("%.1f allocations per write of whole records, want 0", allocs)
	}

	// A record split across two writes is copied into the Framer's
	// buffer; once that buffer has grown, the copy allocates nothing.
	rec := record(RecordHandshake, message(TypeClientHello, ch))
	half := len(rec) / 2
	split := testing.AllocsPerRun(1000, func() {
		f.Write(rec[:half])
		drainFramer(t, &f)
		f.Write(rec[half:])
		if n := drainFramer(t, &f); n != 1 {
			t.Fatalf("%d records", n)
		}
	})
	var fresh float64
	fresh = testing.AllocsPerRun(100, func() {
		var g Framer
		g.Write(rec[:half])
		drainFramer(t, &g)
		g.Write(rec[half:])
		drainFramer(t, &g)
	})
	t.Logf("split %d-byte record: %.1f allocations steady, %.1f on a fresh Framer", len(rec), split, fresh)
	if split != 0 {
		t.Errorf("%.1f allocations per split record once the buffer has grown, want 0", split)
	}
}

// TestAssemblerAllocs is the same promise for messages: whole messages
// inside one Write are read from the caller's slice; skipped bodies are
// never buffered.
func TestAssemblerAllocs(t *testing.T) {
	h := recordGoHandshakes(t)
	ch := goMessagesOfType(t, h.tls13Full, false, TypeClientHello)[0]
	var flight []byte
	flight = append(flight, message(TypeServerHello, bytes.Repeat([]byte{1}, 90))...)
	flight = append(flight, message(TypeCertificate, bytes.Repeat([]byte{2}, 3000))...)
	flight = append(flight, message(TypeServerHelloDone, nil)...)
	flight = append(flight, message(TypeClientHello, ch)...)
	var a Assembler
	if allocs := testing.AllocsPerRun(1000, func() {
		a.Write(flight)
		if n := drainAssembler(t, &a); n != 4 {
			t.Fatalf("%d messages", n)
		}
	}); allocs != 0 {
		t.Errorf("%.1f allocations per write of whole messages, want 0", allocs)
	}

	// A skipped Certificate spanning writes: its body is dropped, not
	// buffered, so nothing is copied at all.
	cert := message(TypeCertificate, bytes.Repeat([]byte{2}, 3000))
	if allocs := testing.AllocsPerRun(1000, func() {
		a.Write(cert[:1000])
		drainAssembler(t, &a)
		a.Write(cert[1000:])
		drainAssembler(t, &a)
		if a.Buffered() != 0 {
			t.Fatalf("%d bytes buffered", a.Buffered())
		}
	}); allocs != 0 {
		t.Errorf("%.1f allocations per split skipped message, want 0", allocs)
	}

	msg := message(TypeClientHello, ch)
	half := len(msg) / 2
	split := testing.AllocsPerRun(1000, func() {
		a.Write(msg[:half])
		drainAssembler(t, &a)
		a.Write(msg[half:])
		if n := drainAssembler(t, &a); n != 1 {
			t.Fatalf("%d messages", n)
		}
	})
	fresh := testing.AllocsPerRun(100, func() {
		var b Assembler
		b.Write(msg[:half])
		drainAssembler(t, &b)
		b.Write(msg[half:])
		drainAssembler(t, &b)
	})
	t.Logf("split %d-byte message: %.1f allocations steady, %.1f on a fresh Assembler", len(msg), split, fresh)
	if split != 0 {
		t.Errorf("%.1f allocations per split kept message once the buffer has grown, want 0", split)
	}
}
