package dtls

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// captureSeeds adds every UDP payload of one OpenSSL capture: real
// datagrams with several records, fragments, CCS and encrypted Finished.
func captureSeeds(f *testing.F, add func(p []byte)) {
	forEachPayload(f, filepath.Join(opensslDir, "dtls12-fragmented.pcap"), func(p []byte) bool {
		add(bytes.Clone(p))
		return true
	})
}

func FuzzNextRecord(f *testing.F) {
	captureSeeds(f, func(p []byte) { f.Add(p, uint8(0)) })
	// A DTLS 1.3 unified header with S and L set.
	f.Add([]byte{0x2c, 0x00, 0x01, 0x00, 0x03, 'e', 'n', 'c'}, uint8(0))
	// A unified header with a 2-byte connection ID.
	f.Add([]byte{0x3e, 0xc1, 0xc2, 0x00, 0x09, 0, 1, 'z'}, uint8(2))
	// A tls12_cid record (RFC 9146) with a 1-byte connection ID.
	f.Add([]byte{25, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 3, 0xcc, 0, 2, 'o', 'k'}, uint8(1))
	f.Fuzz(func(t *testing.T, d []byte, cidLen uint8) {
		looks := Looks(d)
		b := d
		for i := 0; len(b) > 0; i++ {
			r, rest, err := NextRecord(b, int(cidLen))
			if err != nil {
				if looks && i == 0 {
					t.Fatalf("Looks accepted a datagram whose first record fails: %v", err)
				}
				return
			}
			if len(rest) >= len(b) || len(r.Fragment) > len(b) {
				t.Fatalf("no progress: %d -> %d", len(b), len(rest))
			}
			if looks && i == 0 {
				if _, _, err := NextFragment(r.Fragment); err != nil {
					t.Fatalf("Looks accepted a datagram whose first fragment fails: %v", err)
				}
			}
			b = rest
		}
	})
}

func FuzzReassembler(f *testing.F) {
	// Handshake record contents from a real capture: whole messages and
	// Certificate fragments.
	captureSeeds(f, func(p []byte) {
		if r, _, err := NextRecord(p, 0); err == nil && r.Type == tlsparse.RecordHandshake && r.Epoch == 0 {
			f.Add(r.Fragment)
		}
	})
	// A message in three fragments, out of order, one repeated.
	body := pattern(90)
	f.Add(cat(frag(sh, 90, 0, 60, body[60:]), frag(sh, 90, 0, 0, body[:30]), frag(sh, 90, 0, 0, body[:30]), frag(sh, 90, 0, 30, body[30:60])))
	// A fragment that never completes, then a later message.
	f.Add(cat(frag(cert, 900, 1, 0, body), frag(shd, 0, 2, 0, nil)))
	f.Fuzz(func(t *testing.T, d []byte) {
		a := &Reassembler{MaxMessage: 4096}
		last := -1
		check := func() {
			for {
				m, ok := a.Next()
				if !ok {
					break
				}
				if int(m.Seq) <= last {
					t.Fatalf("message_seq %d after %d", m.Seq, last)
				}
				last = int(m.Seq)
				if m.Body != nil && len(m.Body) != m.Length {
					t.Fatalf("body of %d bytes for length %d", len(m.Body), m.Length)
				}
			}
			if a.Pending() > DefaultMaxPending {
				t.Fatalf("%d messages held", a.Pending())
			}
		}
		for len(d) > 0 {
			fr, rest, err := NextFragment(d)
			if err != nil {
				break
			}
			a.Add(fr)
			check()
			d = rest
		}
		a.Flush()
		check()
	})
}

func FuzzClientHelloTLS(f *testing.F) {
	// The ClientHello bodies of a real capture (first without, then with
	// a cookie; one offers a ticket).
	captureSeeds(f, func(p []byte) {
		if r, _, err := NextRecord(p, 0); err == nil && r.Type == tlsparse.RecordHandshake {
			if fr, _, err := NextFragment(r.Fragment); err == nil && fr.Type == ch && fr.Offset == 0 && len(fr.Data) == fr.Length {
				f.Add(fr.Data)
			}
		}
	})
	// A synthetic hello with session ID, cookie and ticket.
	d, _ := dtlsHello(pattern(32), pattern(20), true)
	f.Add(d)
	f.Fuzz(func(t *testing.T, d []byte) {
		tb, cookie, err := ClientHelloTLS(d)
		if err != nil {
			return
		}
		if len(tb) != len(d)-1-len(cookie) {
			t.Fatalf("tls body %d bytes from %d with a %d-byte cookie", len(tb), len(d), len(cookie))
		}
		tlsparse.ParseClientHello(tb)
	})
}
