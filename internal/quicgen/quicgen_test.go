package quicgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/quic-go/quic-go"
)

// want is what a scenario means each connection to be. The test checks it against the
// truth, which comes from quic-go (ConnectionState, qlog, the session cache), and checks
// the truth against the capture and, when it is installed, tshark.
type want struct {
	resumed, offered, zeroRTT, used0RTT, retry bool
	version                                    quic.Version
	helloPackets                               int
}

var (
	v1full  = want{version: quic.Version1, helloPackets: 2}
	v1res   = want{version: quic.Version1, helloPackets: 2, offered: true, resumed: true}
	v1early = want{version: quic.Version1, helloPackets: 2, offered: true, resumed: true, zeroRTT: true, used0RTT: true}
)

var wants = map[string][]want{
	"full":     {v1full},
	"resumed":  {v1full, v1res},
	"zero_rtt": {v1full, v1early},
	"zero_rtt_refused": {v1full,
		{version: quic.Version1, helloPackets: 2, offered: true, zeroRTT: true}},
	"retry": {
		{version: quic.Version1, helloPackets: 2, retry: true},
		{version: quic.Version1, helloPackets: 2, retry: true, offered: true, resumed: true}},
	"v2": {
		{version: quic.Version2, helloPackets: 2},
		{version: quic.Version2, helloPackets: 2, offered: true, resumed: true, zeroRTT: true, used0RTT: true}},
	"hello_split": {v1full, {version: quic.Version1, helloPackets: 1}},
	"damaged":     {v1full, v1full, v1full},
	"mixed": {
		v1full, v1full, v1early,
		{version: quic.Version1, helloPackets: 2, retry: true}, // c2's ticket is for another name
		v1full,
		{version: quic.Version2, helloPackets: 2, offered: true, resumed: true},
		{version: quic.Version1, helloPackets: 2, offered: true, zeroRTT: true},
		{version: quic.Version1, helloPackets: 2, offered: true},
	},
}

func TestWantsCoverScenarios(t *testing.T) {
	for _, n := range ScenarioNames() {
		if _, ok := wants[n]; !ok {
			t.Errorf("scenario %q has no expectations", n)
		}
	}
}

func TestScenarios(t *testing.T) {
	for _, name := range ScenarioNames() {
		t.Run(name, func(t *testing.T) {
			sc := Scenarios()[name]
			pcapPath := filepath.Join(t.TempDir(), name+".pcap")
			conns, err := WriteFiles(context.Background(), pcapPath, sc, Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			ws := wants[name]
			if len(conns) != len(ws) {
				t.Fatalf("%d connections, want %d", len(conns), len(ws))
			}
			for i := range conns {
				c, w := &conns[i], ws[i]
				got := want{resumed: c.Resumed, offered: c.Offered, zeroRTT: c.ZeroRTTPackets > 0,
					used0RTT: c.Used0RTT, retry: c.Retry, version: c.Version, helloPackets: c.HelloPackets}
				if got != w {
					t.Errorf("conn %d: truth %+v, want %+v", c.ID, got, w)
				}
				if c.Cipher == "" || c.ALPN != ALPN || c.DCID == "" || len(c.ClientRandom) != 64 {
					t.Errorf("conn %d: cipher %q alpn %q dcid %q client random %q", c.ID, c.Cipher, c.ALPN, c.DCID, c.ClientRandom)
				}
				if c.HelloBytes <= 1200 && c.HelloPackets > 1 {
					t.Errorf("conn %d: a %d-byte ClientHello in %d Initials", c.ID, c.HelloBytes, c.HelloPackets)
				}
			}
			base := strings.TrimSuffix(pcapPath, ".pcap")
			f, err := os.Open(base + ".tsv")
			if err != nil {
				t.Fatal(err)
			}
			back, err := ReadTruth(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, conns) {
				t.Errorf("truth file reads back as\n%+v\nwant\n%+v", back, conns)
			}
			pkts := checkCapture(t, pcapPath, conns, !hasDamage(&sc))
			if name == "damaged" {
				checkDamaged(t, pkts, conns)
			}
			checkKeyLog(t, base+".keylog", conns)
			if tsharkScenarios[name] {
				t.Run("tshark", func(t *testing.T) { checkTshark(t, pcapPath, base+".keylog", conns, !hasDamage(&sc)) })
			}
		})
	}
}

// tsharkScenarios are read by tshark too: mixed has every kind of connection but 0-RTT
// over v2, which v2 has. tshark takes seconds to start on a loaded machine.
var tsharkScenarios = map[string]bool{"mixed": true, "v2": true}

func hasDamage(sc *Scenario) bool {
	for i := range sc.Steps {
		if !sc.Steps[i].Damage.empty() {
			return true
		}
	}
	return false
}

// captured is one datagram read back from the capture.
type captured struct {
	conn       int // index into conns
	fromClient bool
	payload    []byte
}

// checkCapture reads the pcap with pcapgo and gopacket, and checks every datagram against
// the truth with its own reading of the QUIC invariants (RFC 8999).
func checkCapture(t *testing.T, path string, conns []Conn, exact bool) []captured {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	byClient := make(map[netip.AddrPort]int)
	for i := range conns {
		byClient[conns[i].Client] = i
	}
	var pkts []captured
	first := make([]bool, len(conns))
	firstClient := make([]bool, len(conns))
	var last gopacket.CaptureInfo
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ci.Timestamp.Before(last.Timestamp) {
			t.Errorf("packet %d: timestamp %v before %v", len(pkts)+1, ci.Timestamp, last.Timestamp)
		}
		last = ci
		p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("packet %d: %v", len(pkts)+1, el.Error())
		}
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || p.NetworkLayer() == nil {
			t.Fatalf("packet %d: not UDP over IP", len(pkts)+1)
		}
		nf := p.NetworkLayer().NetworkFlow()
		src, _ := netip.AddrFromSlice(nf.Src().Raw())
		dst, _ := netip.AddrFromSlice(nf.Dst().Raw())
		sap := netip.AddrPortFrom(src, uint16(udp.SrcPort))
		dap := netip.AddrPortFrom(dst, uint16(udp.DstPort))
		ci2, fromClient := byClient[sap]
		if !fromClient {
			ci2, _ = byClient[dap]
		}
		c := &conns[ci2]
		if (fromClient && dap != c.Server) || (!fromClient && (sap != c.Server || dap != c.Client)) {
			t.Fatalf("packet %d: %v -> %v belongs to no connection", len(pkts)+1, sap, dap)
		}
		b := udp.Payload
		// RFC 9000, Section 17: the fixed bit is set in every packet quic-go sends.
		if len(b) == 0 || b[0]&0x40 == 0 {
			t.Errorf("conn %d: datagram without the QUIC fixed bit", c.ID)
			continue
		}
		if b[0]&0x80 != 0 {
			if v := quic.Version(binary.BigEndian.Uint32(b[1:5])); v != c.Version {
				t.Errorf("conn %d: long header version %v, want %v", c.ID, v, c.Version)
			}
		}
		if !first[ci2] {
			first[ci2] = true
			if exact && (!fromClient || ci.Timestamp != c.Start) {
				t.Errorf("conn %d: first datagram from the client %v at %v, truth says %v", c.ID, fromClient, ci.Timestamp, c.Start)
			}
		}
		if fromClient && !firstClient[ci2] {
			firstClient[ci2] = true
			// RFC 8999, Section 5.1: the DCID length byte follows the version. With
			// Damage the first client datagram may be the second Initial: same DCID.
			if b[0]&0x80 == 0 {
				t.Fatalf("conn %d: first client datagram has a short header", c.ID)
			}
			if dcid := hex.EncodeToString(b[6 : 6+int(b[5])]); dcid != c.DCID {
				t.Errorf("conn %d: first DCID %s, truth %s", c.ID, dcid, c.DCID)
			}
		}
		pkts = append(pkts, captured{conn: ci2, fromClient: fromClient, payload: slices.Clone(b)})
	}
	if !exact {
		return pkts
	}
	for i := range conns {
		c := &conns[i]
		var nc, ns, initials int
		retry := false
		for _, p := range pkts {
			if p.conn != i {
				continue
			}
			if p.fromClient {
				nc++
				if isType(p.payload, c.Version, 0) && hex.EncodeToString(p.payload[6:6+int(p.payload[5])]) == c.DCID {
					initials++
				}
				continue
			}
			ns++
			if isType(p.payload, c.Version, 3) {
				retry = true
			}
		}
		if nc != c.ClientDatagrams || ns != c.ServerDatagrams {
			t.Errorf("conn %d: %d/%d datagrams in the capture, truth says %d/%d", c.ID, nc, ns, c.ClientDatagrams, c.ServerDatagrams)
		}
		if retry != c.Retry {
			t.Errorf("conn %d: Retry in the capture %v, truth %v", c.ID, retry, c.Retry)
		}
		// Each Initial of the first flight is padded into its own datagram, and only they
		// go to the original DCID: later ones (and those after a Retry) go to the
		// server's chosen connection ID. The server may answer between them.
		if initials != c.HelloPackets {
			t.Errorf("conn %d: %d Initial datagrams before the server's first, truth says %d Initials carried the ClientHello", c.ID, initials, c.HelloPackets)
		}
	}
	return pkts
}

// isType reports a long header of the given v1 type code (0 Initial, 3 Retry), with the
// type bits of v2 mapped (RFC 9369, Section 3.2).
func isType(b []byte, v quic.Version, v1type byte) bool {
	if b[0]&0x80 == 0 {
		return false
	}
	bits := b[0] >> 4 & 3
	if v == quic.Version2 {
		bits = (bits + 3) & 3
	}
	return bits == v1type
}

func checkDamaged(t *testing.T, pkts []captured, conns []Conn) {
	t.Helper()
	per := make([][]captured, len(conns))
	for _, p := range pkts {
		per[p.conn] = append(per[p.conn], p)
	}
	sent := func(i int) int { return conns[i].ClientDatagrams + conns[i].ServerDatagrams }
	// Step 0: the client's first datagram twice.
	if len(per[0]) != sent(0)+1 || !per[0][1].fromClient || !bytes.Equal(per[0][0].payload, per[0][1].payload) {
		t.Errorf("conn 1: %d datagrams for %d sent, first two equal: %v", len(per[0]), sent(0),
			len(per[0]) > 1 && bytes.Equal(per[0][0].payload, per[0][1].payload))
	}
	// Step 1: two server datagrams swapped, none lost or added.
	if len(per[1]) != sent(1) {
		t.Errorf("conn 2: %d datagrams for %d sent", len(per[1]), sent(1))
	}
	// Step 2: the client's first datagram is missing.
	nc := 0
	for _, p := range per[2] {
		if p.fromClient {
			nc++
		}
	}
	if nc != conns[2].ClientDatagrams-1 {
		t.Errorf("conn 3: %d client datagrams for %d sent", nc, conns[2].ClientDatagrams)
	}
}

// checkKeyLog checks that every connection wrote the four TLS 1.3 secrets under its client
// random, and nothing else.
func checkKeyLog(t *testing.T, path string, conns []Conn) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	labels := make(map[string][]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			t.Fatalf("key log line %q", sc.Text())
		}
		labels[f[1]] = append(labels[f[1]], f[0])
	}
	// crypto/tls writes no CLIENT_EARLY_TRAFFIC_SECRET (Go 1.26, common.go): 0-RTT packets
	// cannot be decrypted from this key log. This breaks the day it starts to.
	wantLabels := []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
		"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"}
	for i := range conns {
		c := &conns[i]
		if got := labels[c.ClientRandom]; !slices.Equal(got, wantLabels) || !slices.Equal(c.KeyLogLabels, wantLabels) {
			t.Errorf("conn %d: key log labels %v (truth %v), want %v", c.ID, got, c.KeyLogLabels, wantLabels)
		}
		delete(labels, c.ClientRandom)
	}
	if len(labels) != 0 {
		t.Errorf("key log lines of no connection: %v", labels)
	}
}

// checkTshark has Wireshark's QUIC and TLS dissectors read the capture with the key log.
// The Initial packets decrypt without it (their keys come from the DCID), the rest only
// with it; so a Certificate or Finished seen proves the key log right.
//
// With damage only the versions are checked: Wireshark 4.0 misses the Finished and the
// ClientHello of the damaged connections.
func checkTshark(t *testing.T, pcapPath, keylog string, conns []Conn, exact bool) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	out, err := exec.Command("tshark", "-n", "-r", pcapPath, "-o", "tls.keylog_file:"+keylog,
		"-Y", "quic", "-T", "fields", "-E", "separator=|",
		"-e", "ip.src", "-e", "ipv6.src", "-e", "udp.srcport",
		"-e", "quic.version", "-e", "tls.handshake.type", "-e", "tls.handshake.extension.type").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	type seen struct {
		versions                        map[quic.Version]bool
		hello, offered, early           bool
		serverHello, resumed, cert, fin bool
	}
	per := make(map[netip.AddrPort]*seen)
	server := make(map[netip.AddrPort]netip.AddrPort)
	for i := range conns {
		per[conns[i].Client] = &seen{versions: make(map[quic.Version]bool)}
		server[conns[i].Server] = netip.AddrPort{}
	}
	list := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	var cur *seen // the connection of the last client packet: servers reuse their port
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimRight(line, "\n"), "|")
		if len(f) != 6 {
			t.Fatalf("tshark line %q", line)
		}
		ip, err := netip.ParseAddr(f[0] + f[1])
		if err != nil {
			t.Fatal(err)
		}
		src := netip.AddrPortFrom(ip, parsePort(t, f[2]))
		s, fromClient := per[src]
		if fromClient {
			cur = s
		} else if _, ok := server[src]; !ok || cur == nil {
			t.Fatalf("tshark: packet from %v of no connection", src)
		} else {
			s = cur
		}
		for _, v := range list(f[3]) {
			var n uint32
			if _, err := hexUint32(v, &n); err != nil {
				t.Fatal(err)
			}
			s.versions[quic.Version(n)] = true
		}
		types, exts := list(f[4]), list(f[5])
		if fromClient && slices.Contains(types, "1") {
			s.hello = true
			s.offered = s.offered || slices.Contains(exts, "41") // pre_shared_key
			s.early = s.early || slices.Contains(exts, "42")     // early_data
		}
		if !fromClient {
			if slices.Contains(types, "2") {
				s.serverHello = true
				s.resumed = s.resumed || slices.Contains(exts, "41")
			}
			s.cert = s.cert || slices.Contains(types, "11")
			s.fin = s.fin || slices.Contains(types, "20")
		}
	}
	for i := range conns {
		c := &conns[i]
		s := per[c.Client]
		if len(s.versions) != 1 || !s.versions[c.Version] {
			t.Errorf("conn %d: tshark versions %v, truth %v", c.ID, s.versions, c.Version)
		}
		if !exact {
			continue
		}
		if !s.hello || !s.serverHello || !s.fin {
			t.Errorf("conn %d: tshark saw ClientHello %v, ServerHello %v, server Finished %v", c.ID, s.hello, s.serverHello, s.fin)
		}
		if s.offered != c.Offered || s.early != (c.ZeroRTTPackets > 0) || s.resumed != c.Resumed || s.cert == c.Resumed {
			t.Errorf("conn %d: tshark offered %v early %v resumed %v certificate %v; truth offered %v 0-RTT packets %d resumed %v",
				c.ID, s.offered, s.early, s.resumed, s.cert, c.Offered, c.ZeroRTTPackets, c.Resumed)
		}
	}
}

func parsePort(t *testing.T, s string) uint16 {
	t.Helper()
	ap, err := netip.ParseAddrPort("0.0.0.0:" + s)
	if err != nil {
		t.Fatalf("port %q: %v", s, err)
	}
	return ap.Port()
}

func hexUint32(s string, n *uint32) (int, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 4 {
		return 0, errors.New("bad version " + s)
	}
	*n = binary.BigEndian.Uint32(b)
	return 4, nil
}
