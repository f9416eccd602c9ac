package dtls

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/tlsresume/tlsresume/tlsparse"
)

// side is what one direction of a DTLS flow showed through a Reader.
type side struct {
	r        Reader
	types    []tlsparse.HandshakeType // messages in delivery order
	hellos   []*tlsparse.ClientHello
	cookies  [][]byte // per ClientHello
	hvrs     []HelloVerifyRequest
	shs      []*tlsparse.ServerHello
	ccs      int
	encHS    int
	alerts   int
	appData  int
	unified  int
	errs     []error
	lastStat Stats
}

// flow is one UDP flow that Looks called DTLS.
type flow struct {
	client, server netip.AddrPort
	c, s           side
}

func (sd *side) feed(t *testing.T, payload []byte) {
	t.Helper()
	sd.r.Write(payload)
	sd.drain(t)
}

func (sd *side) drain(t *testing.T) {
	t.Helper()
	for {
		ev, err := sd.r.Next()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
		if err != nil {
			sd.errs = append(sd.errs, err)
			continue
		}
		switch ev.Kind {
		case tlsparse.EventMessage:
			m := ev.Msg
			sd.types = append(sd.types, m.Type)
			body := bytes.Clone(m.Body)
			switch m.Type {
			case tlsparse.TypeClientHello:
				tb, ck, err := ClientHelloTLS(body)
				if err != nil {
					sd.errs = append(sd.errs, err)
					break
				}
				ch, err := tlsparse.ParseClientHello(tb)
				if err != nil {
					sd.errs = append(sd.errs, err)
					break
				}
				sd.hellos, sd.cookies = append(sd.hellos, ch), append(sd.cookies, ck)
			case tlsparse.TypeServerHello:
				sh, err := tlsparse.ParseServerHello(body)
				if err != nil {
					sd.errs = append(sd.errs, err)
					break
				}
				sd.shs = append(sd.shs, sh)
			case tlsparse.TypeHelloVerifyRequest:
				hvr, err := ParseHelloVerifyRequest(body)
				if err != nil {
					sd.errs = append(sd.errs, err)
					break
				}
				sd.hvrs = append(sd.hvrs, hvr)
			}
		case tlsparse.EventChangeCipherSpec:
			sd.ccs++
		case tlsparse.EventEncryptedHandshake:
			sd.encHS++
		case tlsparse.EventAlert:
			sd.alerts++
		case tlsparse.EventApplicationData:
			sd.appData++
			if ev.Unified {
				sd.unified++
			}
		}
	}
}

func (sd *side) has(ty tlsparse.HandshakeType) bool {
	for _, x := range sd.types {
		if x == ty {
			return true
		}
	}
	return false
}

// forEachUDP calls fn with every UDP packet of a pcap or pcapng file
// until fn returns false.
func forEachUDP(t testing.TB, path string, fn func(src, dst netip.AddrPort, payload []byte) bool) {
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
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
		LinkType() layers.LinkType
	}
	if magic == [4]byte{0x0a, 0x0d, 0x0d, 0x0a} {
		src, err = pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	} else {
		src, err = pcapgo.NewReader(f)
	}
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, _, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pkt := gopacket.NewPacket(data, src.LinkType(), gopacket.Default)
		udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || pkt.NetworkLayer() == nil {
			continue
		}
		nf := pkt.NetworkLayer().NetworkFlow()
		sa, _ := netip.AddrFromSlice(nf.Src().Raw())
		da, _ := netip.AddrFromSlice(nf.Dst().Raw())
		if !fn(netip.AddrPortFrom(sa.Unmap(), uint16(udp.SrcPort)), netip.AddrPortFrom(da.Unmap(), uint16(udp.DstPort)), udp.Payload) {
			return
		}
	}
}

// forEachPayload calls fn with every UDP payload until it returns false.
func forEachPayload(t testing.TB, path string, fn func(payload []byte) bool) {
	t.Helper()
	forEachUDP(t, path, func(_, _ netip.AddrPort, p []byte) bool { return fn(p) })
}

// readFlows reads a pcap or pcapng file and runs every UDP flow that
// Looks calls DTLS through two Readers, in order of first packet.
func readFlows(t *testing.T, path string) []*flow {
	t.Helper()
	type key struct{ a, b netip.AddrPort }
	byKey := map[key]*flow{}
	var flows []*flow
	forEachUDP(t, path, func(src, dst netip.AddrPort, payload []byte) bool {
		fl := byKey[key{src, dst}]
		if fl == nil {
			fl = byKey[key{dst, src}]
		}
		if fl == nil {
			if !Looks(payload) {
				return true
			}
			fl = &flow{client: src, server: dst}
			if tlsparse.HandshakeType(payload[RecordHeaderLen]) != tlsparse.TypeClientHello {
				fl.client, fl.server = dst, src
			}
			byKey[key{src, dst}] = fl
			flows = append(flows, fl)
		}
		if src == fl.client {
			fl.c.feed(t, payload)
		} else {
			fl.s.feed(t, payload)
		}
		return true
	})
	for _, fl := range flows {
		for _, sd := range []*side{&fl.c, &fl.s} {
			sd.r.Flush()
			sd.drain(t)
			sd.lastStat = sd.r.TotalStats()
		}
	}
	return flows
}
