package fingerprint

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// flowKey is one direction of a TCP connection.
type flowKey struct{ src, dst netip.AddrPort }

// hello is one ClientHello found in a capture, with the direction it was
// sent in.
type hello struct {
	flow flowKey
	ch   *tlsparse.ClientHello
	body []byte // the ClientHello body ch was parsed from
}

// captureHellos reads a pcap or pcapng file and returns, per TCP direction
// in order of first packet, every ClientHello in it. Each direction's
// payload is put in sequence order (retransmissions dropped, overlaps
// trimmed) up to the first gap; the TLS stream starts at the first
// ClientHello record header, so a SOCKS or HTTP CONNECT preamble is
// skipped.
func captureHellos(t *testing.T, path string) []hello { return captureHellosTB(t, path) }

// captureHellosTB is captureHellos for any testing.TB.
func captureHellosTB(t testing.TB, path string) []hello {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var read func() ([]byte, gopacket.CaptureInfo, error)
	var link layers.LinkType
	if binary.BigEndian.Uint32(magic[:]) == 0x0a0d0d0a {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		read, link = r.ReadPacketData, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		read, link = r.ReadPacketData, r.LinkType()
	}
	type segment struct {
		seq  uint32
		data []byte
	}
	segs := map[flowKey][]segment{}
	var order []flowKey
	for {
		data, _, err := read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p := gopacket.NewPacket(data, link, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || len(tcp.Payload) == 0 || p.NetworkLayer() == nil {
			continue
		}
		src, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Src().Raw())
		dst, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Dst().Raw())
		k := flowKey{netip.AddrPortFrom(src, uint16(tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(tcp.DstPort))}
		if _, ok := segs[k]; !ok {
			order = append(order, k)
		}
		segs[k] = append(segs[k], segment{tcp.Seq, bytes.Clone(tcp.Payload)})
	}
	var out []hello
	for _, k := range order {
		s := segs[k]
		first := s[0].seq // sequence numbers relative to the first data segment
		slices.SortStableFunc(s, func(a, b segment) int { return cmp.Compare(a.seq-first, b.seq-first) })
		var stream []byte
		end := s[0].seq - first
		for _, g := range s {
			off := g.seq - first
			if off > end {
				break // a gap
			}
			if skip := end - off; int(skip) < len(g.data) {
				stream = append(stream, g.data[skip:]...)
				end += uint32(len(g.data)) - skip
			}
		}
		for _, body := range streamHellos(stream) {
			ch, err := tlsparse.ParseClientHello(body)
			if err != nil {
				t.Errorf("%s: %v->%v: %v", path, k.src, k.dst, err)
				continue
			}
			out = append(out, hello{k, ch, body})
		}
	}
	return out
}

// streamHellos returns the ClientHello bodies in one direction's bytes,
// read with tlsparse from the first ClientHello record header on.
func streamHellos(b []byte) [][]byte {
	start := -1
	for i := 0; i+6 <= len(b); i++ {
		// RFC 8446, Section 5.1 and 4: handshake record, version 3.x,
		// then a client_hello message.
		if b[i] == 22 && b[i+1] == 3 && b[i+2] <= 4 && b[i+5] == 1 {
			start = i
			break
		}
	}
	if start < 0 {
		return nil
	}
	var s tlsparse.Stream
	s.Write(b[start:])
	var out [][]byte
	for {
		ev, err := s.Next()
		if err != nil {
			return out
		}
		switch {
		case ev.Kind == tlsparse.EventMessage && ev.Msg.Type == tlsparse.TypeClientHello:
			out = append(out, bytes.Clone(ev.Msg.Body))
		case ev.Kind == tlsparse.EventChangeCipherSpec, ev.Kind == tlsparse.EventApplicationData:
			// After the client's ChangeCipherSpec its handshake is
			// encrypted (TLS 1.2); a TLS 1.3 client may still send a
			// second ClientHello after a compatibility one.
			if len(out) > 0 && ev.Kind == tlsparse.EventApplicationData {
				return out
			}
		}
	}
}
