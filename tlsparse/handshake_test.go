package tlsparse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// gotMsg is a Message with its body copied.
type gotMsg struct {
	typ    HandshakeType
	length int
	body   []byte // nil for a skipped type
}

// readMessages returns every message a has (bodies copied) and the error
// that stopped it.
func readMessages(a *Assembler) ([]gotMsg, error) {
	var ms []gotMsg
	for {
		m, err := a.Next()
		if err != nil {
			return ms, err
		}
		g := gotMsg{typ: m.Type, length: m.Length}
		if m.Body != nil {
			g.body = bytes.Clone(m.Body)
		}
		ms = append(ms, g)
	}
}

// feedMessages writes chunks to a, draining it after each, and returns
// the messages and the last error.
func feedMessages(a *Assembler, chunks [][]byte) ([]gotMsg, error) {
	var all []gotMsg
	var err error
	for _, c := range chunks {
		a.Write(c)
		var ms []gotMsg
		ms, err = readMessages(a)
		all = append(all, ms...)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
	}
	return all, err
}

// expectedMessages is what the Assembler should return for raw messages:
// bodies for kept types only.
func expectedMessages(raw []rawMsg) []gotMsg {
	var want []gotMsg
	for _, m := range raw {
		g := gotMsg{typ: m.typ, length: len(m.body)}
		if Kept(m.typ) {
			g.body = m.body
		}
		want = append(want, g)
	}
	return want
}

func equalMessages(t *testing.T, got, want []gotMsg) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages %v, want %d %v", len(got), msgTypes(got), len(want), msgTypes(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.typ != w.typ || g.length != w.length || !bytes.Equal(g.body, w.body) || (g.body == nil) != (w.body == nil) {
			t.Fatalf("message %d: got %v of %d bytes (body %d), want %v of %d bytes (body %d)",
				i, g.typ, g.length, len(g.body), w.typ, w.length, len(w.body))
		}
	}
}

func msgTypes(ms []gotMsg) []HandshakeType {
	var ts []HandshakeType
	for _, m := range ms {
		ts = append(ts, m.typ)
	}
	return ts
}

// TestAssemblerGoHandshakes feeds each direction's plaintext handshake
// bytes record by record (one message per record, as crypto/tls writes
// them), all at once (several messages in one write) and one byte at a
// time (each message spread over many writes).
func TestAssemblerGoHandshakes(t *testing.T) {
	h := recordGoHandshakes(t)
	for _, c := range h.all() {
		for _, server := range []bool{false, true} {
			stream := c.clientBytes()
			side := "client"
			if server {
				stream, side = c.serverBytes(), "server"
			}
			hs := plaintextHandshake(t, stream, c.tls12())
			want := expectedMessages(splitMessages(t, hs))
			var perRecord [][]byte
			for _, r := range splitRecords(t, stream) {
				if r.typ == 22 {
					perRecord = append(perRecord, r.frag)
				}
			}
			perRecord = perRecord[:len(goMessages(t, c, server))] // drop TLS 1.2 encrypted Finished
			for _, feed := range []struct {
				name   string
				chunks [][]byte
			}{
				{"records", perRecord},
				{"whole", [][]byte{hs}},
				{"bytes", bytesOneByOne(hs)},
			} {
				t.Run(c.name+"/"+side+"/"+feed.name, func(t *testing.T) {
					var a Assembler
					got, err := feedMessages(&a, feed.chunks)
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("last error %v, want io.ErrUnexpectedEOF", err)
					}
					equalMessages(t, got, want)
					if a.Buffered() != 0 {
						t.Fatalf("Buffered %d at the end", a.Buffered())
					}
				})
			}
		}
	}
}

func TestAssemblerSplitAndCoalesced(t *testing.T) {
	h := recordGoHandshakes(t)
	ch := goMessagesOfType(t, h.tls13Full, false, TypeClientHello)[0]
	chMsg := withHeader(TypeClientHello, ch)
	serverFlight := plaintextHandshake(t, h.tls12Full.server[0], true) // SH, Certificate, SKE, SHD
	wantFlight := expectedMessages(splitMessages(t, serverFlight))

	t.Run("message across three records", func(t *testing.T) {
		var a Assembler
		got, err := feedMessages(&a, [][]byte{chMsg[:3], chMsg[3:700], chMsg[700:]})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
		equalMessages(t, got, []gotMsg{{TypeClientHello, len(ch), ch}})
	})
	t.Run("four messages in one record", func(t *testing.T) {
		var a Assembler
		got, err := feedMessages(&a, [][]byte{serverFlight})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
		equalMessages(t, got, wantFlight)
		if len(got) != 4 {
			t.Fatalf("got %v", msgTypes(got))
		}
	})
	t.Run("records cutting messages anywhere", func(t *testing.T) {
		for _, step := range []byte{2, 3, 5, 100, 251} {
			var a Assembler
			got, err := feedMessages(&a, splitAt(serverFlight, []byte{step}))
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatal(err)
			}
			equalMessages(t, got, wantFlight)
		}
	})
	t.Run("prefixes of a kept message", func(t *testing.T) {
		for i := 0; i < len(chMsg); i++ {
			var a Assembler
			a.Write(chMsg[:i])
			if m, err := a.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("prefix of %d bytes: %v, %v", i, m.Type, err)
			}
		}
	})
}

// TestAssemblerSkipsUnbuffered feeds a 100 KB Certificate in record-sized
// pieces: it is reported once its header is complete and its body never
// piles up.
func TestAssemblerSkipsUnbuffered(t *testing.T) {
	const certLen = 100 << 10
	cert := withHeader(TypeCertificate, bytes.Repeat([]byte{0x30}, certLen))
	done := withHeader(TypeServerHelloDone, nil)
	stream := append(cert, done...)
	var a Assembler
	var got []gotMsg
	maxBuffered := 0
	for _, chunk := range splitAt(stream, []byte{255, 1, 200}) {
		a.Write(chunk)
		ms, err := readMessages(&a)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
		got = append(got, ms...)
		maxBuffered = max(maxBuffered, a.Buffered())
	}
	equalMessages(t, got, []gotMsg{{TypeCertificate, certLen, nil}, {TypeServerHelloDone, 0, nil}})
	if maxBuffered >= HandshakeHeaderLen {
		t.Errorf("Buffered reached %d while skipping a Certificate", maxBuffered)
	}

	// The header alone is enough: the body that follows is dropped in Write.
	var b Assembler
	b.Write(cert[:HandshakeHeaderLen])
	if m, err := b.Next(); err != nil || m.Type != TypeCertificate || m.Length != certLen || m.Body != nil {
		t.Fatalf("header only: %+v, %v", m, err)
	}
	b.Write(cert[HandshakeHeaderLen:])
	if b.Buffered() != 0 {
		t.Fatalf("Buffered %d after the skipped body", b.Buffered())
	}
	b.Write(done)
	if m, err := b.Next(); err != nil || m.Type != TypeServerHelloDone {
		t.Fatalf("after skipping: %+v, %v", m, err)
	}
}

// TestAssemblerTooLarge checks the bound on kept messages, and that an
// Assembler that said so stops buffering.
func TestAssemblerTooLarge(t *testing.T) {
	huge := []byte{byte(TypeClientHello), 0xff, 0xff, 0xff} // 16 MB ClientHello
	var a Assembler
	a.Write(huge)
	if _, err := a.Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("16 MB ClientHello: %v, want ErrTooLarge", err)
	}
	chunk := make([]byte, 16<<10)
	for range 64 { // 1 MB more
		a.Write(chunk)
		if _, err := a.Next(); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("after more bytes: %v, want ErrTooLarge", err)
		}
	}
	if a.Buffered() > len(huge) {
		t.Fatalf("Buffered %d after the error", a.Buffered())
	}
	a.Reset()
	a.Write(withHeader(TypeServerHelloDone, nil))
	if m, err := a.Next(); err != nil || m.Type != TypeServerHelloDone {
		t.Fatalf("after Reset: %+v, %v", m, err)
	}

	for _, tt := range []struct {
		name string
		max  int
		typ  HandshakeType
		n    int
		err  error
	}{
		{"default bound", 0, TypeServerHello, DefaultMaxMessage, nil},
		{"over the default bound", 0, TypeNewSessionTicket, DefaultMaxMessage + 1, ErrTooLarge},
		{"at Max", 100, TypeClientHello, 100, nil},
		{"over Max", 100, TypeClientHello, 101, ErrTooLarge},
		{"skipped type ignores Max", 100, TypeCertificate, 1 << 20, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := Assembler{Max: tt.max}
			msg := withHeader(tt.typ, make([]byte, tt.n))
			a.Write(msg[:HandshakeHeaderLen])
			m, err := a.Next()
			switch {
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("header: %v, want %v", err, tt.err)
				}
				return
			case !Kept(tt.typ):
				// A skipped message is returned at its header.
				if err != nil || m.Length != tt.n || m.Body != nil {
					t.Fatalf("skipped message: %+v, %v", m, err)
				}
				return
			case !errors.Is(err, io.ErrUnexpectedEOF):
				t.Fatalf("header of a kept message: %v", err)
			}
			a.Write(msg[HandshakeHeaderLen:])
			m, err = a.Next()
			if err != nil || m.Length != tt.n || len(m.Body) != tt.n {
				t.Fatalf("got %d-byte body, %v", len(m.Body), err)
			}
		})
	}
}

func TestKept(t *testing.T) {
	for _, tt := range []struct {
		typ  HandshakeType
		want bool
	}{
		{TypeClientHello, true},
		{TypeServerHello, true},
		{TypeNewSessionTicket, true},
		{TypeHelloVerifyRequest, true},
		{TypeHelloRequest, false},
		{TypeCertificate, false},
		{TypeServerKeyExchange, false},
		{TypeServerHelloDone, false},
		{TypeClientKeyExchange, false},
		{TypeFinished, false},
		{TypeEncryptedExtensions, false},
		{HandshakeType(99), false},
	} {
		if got := Kept(tt.typ); got != tt.want {
			t.Errorf("Kept(%v) = %v, want %v", tt.typ, got, tt.want)
		}
	}
}

func TestAssemblerReset(t *testing.T) {
	var a Assembler
	a.Write(withHeader(TypeCertificate, make([]byte, 10))[:8]) // 6 body bytes still to skip
	if m, err := a.Next(); err != nil || m.Type != TypeCertificate {
		t.Fatalf("%+v, %v", m, err)
	}
	a.Reset()
	a.Write(withHeader(TypeServerHelloDone, nil)) // not eaten by the old skip
	if m, err := a.Next(); err != nil || m.Type != TypeServerHelloDone {
		t.Fatalf("after Reset: %+v, %v", m, err)
	}
}

// FuzzAssembler checks that the messages do not depend on how the
// handshake bytes are cut into writes, and that Buffered stays bounded.
func FuzzAssembler(f *testing.F) {
	h := recordGoHandshakes(f)
	// TLS 1.2 server: ServerHello, Certificate, ServerKeyExchange,
	// ServerHelloDone, NewSessionTicket.
	f.Add(plaintextHandshake(f, h.tls12Full.serverBytes(), true), []byte{1})
	// TLS 1.2 resumed client: ClientHello with a ticket, 100-byte pieces.
	f.Add(plaintextHandshake(f, h.tls12Resumed.clientBytes(), true), []byte{100})
	// TLS 1.3 client with HelloRetryRequest: two ClientHellos.
	f.Add(plaintextHandshake(f, h.tls13HRR.clientBytes(), false), []byte{3, 250, 17})
	// TLS 1.3 resumed server hello (pre_shared_key), cut after the header.
	f.Add(plaintextHandshake(f, h.tls13Resumed.serverBytes(), false), []byte{4})
	// A ClientHello announcing 16 MB.
	f.Add([]byte{1, 0xff, 0xff, 0xff, 3, 3}, []byte{2})
	// A Certificate whose body never comes, then anything.
	f.Add([]byte{11, 0, 1, 0, 1, 2, 3}, []byte{1})
	f.Fuzz(func(t *testing.T, data, steps []byte) {
		var whole Assembler
		whole.Write(data)
		want, wantErr := readMessages(&whole)
		var split Assembler
		var got []gotMsg
		var gotErr error
		for _, c := range splitAt(data, steps) {
			split.Write(c)
			var ms []gotMsg
			ms, gotErr = readMessages(&split)
			got = append(got, ms...)
			if errors.Is(gotErr, io.ErrUnexpectedEOF) && split.Buffered() >= HandshakeHeaderLen+DefaultMaxMessage {
				t.Fatalf("Buffered %d waiting for a message", split.Buffered())
			}
			if !errors.Is(gotErr, io.ErrUnexpectedEOF) {
				break
			}
		}
		equalMessages(t, got, want)
		if errKind(gotErr) != errKind(wantErr) {
			t.Fatalf("split input ended with %v, whole with %v", gotErr, wantErr)
		}
		if k := errKind(wantErr); k != "eof" && k != "too large" {
			t.Fatalf("Next: %v", wantErr)
		}
		for _, m := range want {
			if Kept(m.typ) != (m.body != nil) || (m.body != nil && len(m.body) != m.length) {
				t.Fatalf("%v: length %d, body %d bytes", m.typ, m.length, len(m.body))
			}
		}
	})
}
