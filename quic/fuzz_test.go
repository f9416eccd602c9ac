package quic

import (
	"bytes"
	"encoding/hex"
	"io"
	"testing"
)

func seedHex(f *testing.F, s string) {
	b, err := hex.DecodeString(s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

// FuzzPacket walks a datagram's packets, opens every Initial with the keys
// its DCID gives (as an observer would for the client's first one), and
// walks the frames of whatever opens. Looks must never promise a packet
// NextPacket refuses.
func FuzzPacket(f *testing.F) {
	seedHex(f, v1ClientPacket)                               // RFC 9001, A.2: client Initial
	seedHex(f, v1ServerPacket)                               // RFC 9001, A.3: server Initial
	seedHex(f, v2ClientPacket)                               // RFC 9369, A.2
	seedHex(f, v1Retry)                                      // RFC 9001, A.4: Retry
	seedHex(f, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb") // RFC 9001, A.5: short header
	seedHex(f, "800000000004010203040205060000000100000002") // a Version Negotiation packet
	seedHex(f, v1ServerPacket+v1ServerPacket)                // two coalesced Initials
	for _, dg := range readDatagrams(f, "testdata/chrome-cloudflare-quic-with-secrets.pcapng")[:6] {
		f.Add(dg.payload) // Chrome and Cloudflare's first datagrams, Initials and Handshakes coalesced
	}
	var r FrameReader
	f.Fuzz(func(t *testing.T, dg []byte) {
		p, _, err := NextPacket(dg, -1)
		if Looks(dg) && err != nil {
			t.Fatalf("Looks is true but NextPacket says %v", err)
		}
		var dcid []byte
		for rest := dg; len(rest) > 0; {
			p, rest, err = NextPacket(rest, 8)
			if err != nil {
				return
			}
			switch p.Type {
			case PacketRetry:
				CheckRetry(dcid, &p)
			case PacketInitial:
				if dcid == nil {
					dcid = bytes.Clone(p.DCID)
				}
				c, s, err := InitialKeys(p.Version, dcid)
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []*Keys{c, s} {
					payload, _, err := NewOpener(k).Open(&p)
					if err != nil {
						continue
					}
					r.Reset(payload, FramesHandshake)
					for {
						if _, err := r.Next(); err != nil {
							break
						}
					}
				}
			}
		}
	})
}

// FuzzFrames walks any payload in both modes: no panic, CRYPTO data
// inside the payload, an end that is io.EOF or a counted error.
func FuzzFrames(f *testing.F) {
	seedHex(f, v1ClientCrypto)                             // RFC 9001, A.2: CRYPTO with a ClientHello
	seedHex(f, v1ServerPayload)                            // RFC 9001, A.3: ACK then CRYPTO
	seedHex(f, "0f044400026869"+"1e"+"310461626364"+"01")  // STREAM, HANDSHAKE_DONE, DATAGRAM, PING
	seedHex(f, "1800010801020304050607080011223344556677") // NEW_CONNECTION_ID cut short
	seedHex(f, "0300000001020380000003")                   // ACK_ECN
	seedHex(f, "1c0a060362616406410003aabbcc")             // CONNECTION_CLOSE then CRYPTO
	var r FrameReader
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, mode := range []FrameMode{FramesHandshake, FramesAll} {
			r.Reset(payload, mode)
			for {
				fr, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					if Reason(err) == "quic_error" {
						t.Fatalf("uncounted error %v", err)
					}
					break
				}
				if len(fr.Data) > 0 && !bytes.Contains(payload, fr.Data) {
					t.Fatal("CRYPTO data not from the payload")
				}
				if fr.Offset+uint64(len(fr.Data)) > maxVarint {
					t.Fatal("CRYPTO past 2^62-1")
				}
			}
		}
	})
}

// FuzzCryptoStream pushes chunks taken from the input, each byte of chunk
// k at offset x being x^k (so overlapping chunks disagree), and checks
// that what Read yields equals the reference: the contiguous prefix from
// offset 0 of every offset covered, each with the value of the first chunk
// that covered it.
func FuzzCryptoStream(f *testing.F) {
	f.Add([]byte{0, 0, 10, 10, 0, 10})                // two chunks in order
	f.Add([]byte{20, 0, 10, 0, 0, 20})                // reversed
	f.Add([]byte{5, 0, 5, 0, 0, 10, 3, 0, 4})         // overlap
	f.Add([]byte{1, 0, 1, 3, 0, 1, 5, 0, 1, 0, 0, 8}) // a chunk bridging three pieces
	f.Fuzz(func(t *testing.T, in []byte) {
		var c CryptoStream
		var got []byte
		var ref [1<<12 + 256]int // offset -> chunk index + 1, 0 for none
		for k := 0; len(in) >= 3; k++ {
			off := uint64(in[0]) | uint64(in[1]&0x0f)<<8
			n := int(in[2])
			in = in[3:]
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(int(off)+i) ^ byte(k)
			}
			if err := c.Push(off, data); err != nil {
				// Only the gap bound can be reached here: skip it in
				// the reference too.
				continue
			}
			for i := range n {
				if ref[int(off)+i] == 0 {
					ref[int(off)+i] = k + 1
				}
			}
			got = append(got, c.Read()...)
		}
		var want []byte
		for x := 0; x < len(ref) && ref[x] != 0; x++ {
			want = append(want, byte(x)^byte(ref[x]-1))
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %x, reference %x", got, want)
		}
	})
}
