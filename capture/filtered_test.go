package capture

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/tlsresume/tlsresume/capture/filter"
)

// filterPacket is an IPv4 TCP or UDP packet to port dport behind an Ethernet
// or Linux cooked header, cut to caplen bytes when caplen > 0.
type filterPacket struct {
	lt     layers.LinkType
	udp    bool
	dport  uint16
	caplen int
}

func (fp filterPacket) bytes(t testing.TB) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: net.IPv4(10, 0, 0, 1).To4(), DstIP: net.IPv4(10, 0, 0, 2).To4()}
	var l4 gopacket.SerializableLayer
	if fp.udp {
		ip.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(fp.dport)}
		udp.SetNetworkLayerForChecksum(ip)
		l4 = udp
	} else {
		tcp := &layers.TCP{SrcPort: 40000, DstPort: layers.TCPPort(fp.dport), SYN: true, Window: 100}
		tcp.SetNetworkLayerForChecksum(ip)
		l4 = tcp
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, l4, gopacket.Payload(bytes.Repeat([]byte{'x'}, 100))); err != nil {
		t.Fatal(err)
	}
	var hdr []byte
	if fp.lt == layers.LinkTypeLinuxSLL {
		hdr = []byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}
	} else {
		hdr = []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
	}
	return append(hdr, buf.Bytes()...)
}

// filterCapture writes the packets as pcap, with the first one's link type.
func filterCapture(t testing.TB, fps []filterPacket) []byte {
	t.Helper()
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, fps[0].lt); err != nil {
		t.Fatal(err)
	}
	for i, fp := range fps {
		b := fp.bytes(t)
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i+1), 0), CaptureLength: len(b), Length: len(b)}
		if fp.caplen > 0 {
			b = b[:fp.caplen]
			ci.CaptureLength = fp.caplen
		}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// filterCaptureNg writes the packets as pcapng, with an Ethernet and a
// Linux cooked interface.
func filterCaptureNg(t testing.TB, fps []filterPacket) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := pcapgo.NewNgWriter(&out, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeLinuxSLL, SnapLength: 65535}); err != nil {
		t.Fatal(err)
	}
	for i, fp := range fps {
		b := fp.bytes(t)
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i+1), 0), CaptureLength: len(b), Length: len(b)}
		if fp.lt == layers.LinkTypeLinuxSLL {
			ci.InterfaceIndex = 1
		}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// readPorts reads src to its end and returns the destination ports.
func readPorts(t *testing.T, src Source) ([]uint16, error) {
	t.Helper()
	var ports []uint16
	for {
		p, err := src.Next()
		if err == io.EOF {
			return ports, nil
		}
		if err != nil {
			return ports, err
		}
		off := 14
		if p.LinkType == layers.LinkTypeLinuxSLL {
			off = 16
		}
		ports = append(ports, uint16(p.Data[off+22])<<8|uint16(p.Data[off+23]))
	}
}

func TestFiltered(t *testing.T) {
	eth := layers.LinkTypeEthernet
	data := filterCapture(t, []filterPacket{
		{lt: eth, dport: 443}, {lt: eth, dport: 80}, {lt: eth, dport: 443, caplen: 60},
		{lt: eth, udp: true, dport: 443}, {lt: eth, dport: 8443}, {lt: eth, dport: 443},
	})
	files, err := OpenFiles([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Filtered(files, "tcp port 443")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ports, err := readPorts(t, src)
	if err != nil || len(ports) != 3 {
		t.Fatalf("ports %v, %v; want three packets to 443", ports, err)
	}
	st := src.Stats()
	if st.Packets != 3 || st.FilterRejected != 3 || st.SnaplenCut != 1 || st.Bytes != 60+2*154 {
		t.Errorf("stats %+v", st)
	}
}

func TestFilteredLinkTypes(t *testing.T) {
	eth, sll := layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL
	data := filterCaptureNg(t, []filterPacket{
		{lt: eth, dport: 443}, {lt: sll, dport: 443}, {lt: sll, dport: 80}, {lt: eth, dport: 80}, {lt: sll, dport: 443},
	})
	files, err := OpenFiles([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Filtered(files, "dst port 443")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := readPorts(t, src)
	if err != nil || len(ports) != 3 {
		t.Errorf("ports %v, %v; want three packets to 443 (Ethernet and Linux cooked)", ports, err)
	}

	// "vlan" applies to Ethernet only: the first cooked packet stops it.
	files, err = OpenFiles([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	src, err = Filtered(files, "not vlan")
	if err != nil {
		t.Fatal(err)
	}
	ports, err = readPorts(t, src)
	var fe *filter.Error
	if len(ports) != 1 || !errors.As(err, &fe) {
		t.Errorf("vlan on Linux cooked: ports %v, error %v", ports, err)
	}
	if _, again := src.Next(); again != err {
		t.Errorf("error not sticky: %v, then %v", err, again)
	}
}

func TestFilteredErrors(t *testing.T) {
	data := filterCapture(t, []filterPacket{{lt: layers.LinkTypeEthernet, dport: 443}})
	files, err := OpenFiles([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	if src, err := Filtered(files, "  "); err != nil || src != files {
		t.Errorf("empty filter: %v, %v; want the source itself", src, err)
	}
	_, err = Filtered(files, "tcp port")
	var fe *filter.Error
	if !errors.As(err, &fe) || filter.Backend == "go" && err.Error() != `filter: syntax error in "tcp port": "port" needs a value` {
		t.Errorf("bad filter: %v", err)
	}
}

func TestFilteredAllocs(t *testing.T) {
	var fps []filterPacket
	for i := range 3000 {
		fps = append(fps, filterPacket{lt: layers.LinkTypeEthernet, dport: uint16(443 + i%2)})
	}
	files, err := OpenFiles([]string{"-"}, bytes.NewReader(filterCapture(t, fps)))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Filtered(files, "tcp port 443 and host 10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	next := func() {
		if _, err := src.Next(); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		next()
	}
	if n := testing.AllocsPerRun(1000, next); n != 0 {
		t.Errorf("%v allocations per packet, want 0", n)
	}
}
