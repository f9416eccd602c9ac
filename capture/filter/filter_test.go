package filter

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Names of packets of testPackets used by the tables.
const (
	v4TLS      = "v4 tcp 10.0.0.1:40000 > 1.2.3.4:443"
	v4TLSBack  = "v4 tcp 1.2.3.4:443 > 10.0.0.1:40000"
	v4UDPDNS   = "v4 udp 10.1.2.3:8443 > 192.168.1.10:53"
	v4TCP8443  = "v4 tcp 10.1.2.3:8443 > 192.168.1.10:53"
	v4SCTP443  = "v4 sctp 10.0.0.1:40000 > 1.2.3.4:443"
	v4Range    = "v4 tcp 10.0.0.1:500 > 10.0.0.2:400"
	v4Options  = "v4 options tcp 10.0.0.1:40000 > 1.2.3.4:443"
	v4Frag1    = "v4 first fragment tcp 10.0.0.1:40000 > 1.2.3.4:443"
	v4Frag2    = "v4 later fragment tcp 10.0.0.1 > 1.2.3.4 (bytes like port 443)"
	v6TLS      = "v6 tcp [2001:db8::1]:40000 > [2001:db8:0:1::2]:443"
	v6UDP      = "v6 udp [fe80::1]:53 > [2001:db9::5]:8443"
	v6FragHdr  = "v6 fragment header tcp [2001:db8::1]:40000 > [2001:db8:0:1::2]:443"
	v6HopByHop = "v6 hop-by-hop tcp [2001:db8::1]:40000 > [2001:db8:0:1::2]:443"
	icmp4      = "v4 icmp 10.0.0.1 > 8.8.8.8"
	icmp6      = "v6 icmp6 2001:db8::1 > 2001:db8::2"
	arp        = "arp 10.0.0.1 > 10.0.0.2"
	lldp       = "lldp"
	vlan4      = "vlan [8100] " + v4TLS
	qinq6      = "vlan [88a8 8100] " + v6TLS
	cut4       = "cut at 21 " + v4TLS
)

// matchTests are expressions and packets with the verdict, on Ethernet.
var matchTests = []struct {
	expr string
	yes  []string
	no   []string
}{
	{"", []string{v4TLS, arp, lldp, vlan4}, nil},
	{"tcp", []string{v4TLS, v6TLS, v4Frag2, v6FragHdr, v4Options}, []string{v4UDPDNS, v6UDP, v6HopByHop, icmp4, arp, vlan4}},
	{"udp", []string{v4UDPDNS, v6UDP}, []string{v4TLS, v6TLS}},
	{"ip", []string{v4TLS, icmp4, v4Frag2}, []string{v6TLS, arp, lldp, vlan4}},
	{"ip6", []string{v6TLS, icmp6, v6FragHdr}, []string{v4TLS, arp}},
	{"icmp or icmp6", []string{icmp4, icmp6}, []string{v4TLS, v6TLS}},
	{"arp", []string{arp}, []string{v4TLS}},
	{"port 443", []string{v4TLS, v4TLSBack, v6TLS, v4SCTP443, v4Options, v4Frag1}, []string{v4UDPDNS, v4Frag2, v6FragHdr, v6HopByHop, vlan4, cut4}},
	{"tcp port 443", []string{v4TLS, v6TLS, v4Options}, []string{v4SCTP443, v4Frag2}},
	{"udp port 53", []string{v4UDPDNS}, []string{v4TCP8443}},
	{"src port 443", []string{v4TLSBack}, []string{v4TLS}},
	{"dst port 443", []string{v4TLS, v6TLS}, []string{v4TLSBack}},
	{"tcp port 443 or 8443", []string{v4TLS, v4TCP8443}, []string{v4UDPDNS}},
	{"port 443 and not 40000", nil, []string{v4TLS, v4TLSBack}},
	{"portrange 400-442", []string{v4Range}, []string{v4TLS}},
	{"portrange 501-600", nil, []string{v4Range}},
	{"host 10.0.0.1", []string{v4TLS, v4TLSBack, arp, icmp4}, []string{v4UDPDNS, v6TLS}},
	{"src host 10.0.0.1", []string{v4TLS, arp}, []string{v4TLSBack}},
	{"dst host 10.0.0.1", []string{v4TLSBack}, []string{v4TLS, arp}},
	{"ip host 10.0.0.1", []string{v4TLS}, []string{arp}},
	{"host 2001:db8::1", []string{v6TLS, icmp6, v6FragHdr}, []string{v4TLS, v6UDP}},
	{"dst host 2001:db8::1", nil, []string{v6TLS}},
	{"net 10.0.0.0/8", []string{v4TLS, v4UDPDNS, arp}, []string{icmp6}},
	{"net 10", []string{v4TLS}, nil},
	{"src net 192.168.1.0 mask 255.255.255.0", nil, []string{v4UDPDNS}},
	{"dst net 192.168.1.0 mask 255.255.255.0", []string{v4UDPDNS}, nil},
	{"net 2001:db8::/32", []string{v6TLS}, []string{v6UDP, v4TLS}},
	{"dst net 2001:db8:0:1::/64", []string{v6TLS}, []string{v6UDP}},
	{"ip proto 6", []string{v4TLS}, []string{v6TLS}},
	{"ip6 proto 6", []string{v6TLS, v6FragHdr}, []string{v4TLS, v6HopByHop}},
	{"not tcp", []string{v4UDPDNS, arp}, []string{v4TLS}},
	{"!(tcp or udp)", []string{arp, icmp4}, []string{v4TLS, v6UDP}},
	{"udp or tcp and port 443", []string{v4TLS}, []string{v4UDPDNS}}, // (udp or tcp) and port 443
	{"udp or (tcp and port 443)", []string{v4TLS, v4UDPDNS}, []string{v4TCP8443}},
	{"tcp && port 443 || udp", []string{v4TLS, v4UDPDNS}, []string{v4TCP8443}},
	{"vlan", []string{vlan4, qinq6}, []string{v4TLS}},
	{"vlan 10 and tcp port 443", []string{vlan4}, []string{v4TLS, qinq6}}, // QinQ: the inner tag is where tcp is looked for
	{"vlan 20", nil, []string{vlan4, qinq6}},
	{"vlan and vlan 20 and ip6", []string{qinq6}, []string{vlan4}},
	{"tcp port 443 or (vlan and tcp port 443)", []string{v4TLS, vlan4}, []string{v4UDPDNS}},
}

func TestMatch(t *testing.T) {
	ps := testPackets(t)
	for _, tt := range matchTests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := CompileGo(tt.expr, layers.LinkTypeEthernet, 0)
			if err != nil {
				t.Fatal(err)
			}
			check := func(names []string, want bool) {
				for _, name := range names {
					b, _ := wrap(layers.LinkTypeEthernet, packetNamed(t, ps, name))
					if got := f.Matches(gopacket.CaptureInfo{}, b); got != want {
						t.Errorf("%s: got %v, want %v\n%s", name, got, want, listing(f.Instructions()))
					}
				}
			}
			check(tt.yes, true)
			check(tt.no, false)
		})
	}
}

// TestMatchLinkTypes checks one expression on every link type: the offsets
// of each link layer.
func TestMatchLinkTypes(t *testing.T) {
	ps := testPackets(t)
	for _, lt := range linkTypes {
		t.Run(linkTypeName(lt), func(t *testing.T) {
			f, err := CompileGo("tcp dst port 443 and (src host 10.0.0.1 or (ip6 and dst net 2001:db8:0:1::/64))", lt, 0)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]bool{v4TLS: true, v4TLSBack: false, v6TLS: true, v6UDP: false, v4Options: true} {
				p := packetNamed(t, ps, name)
				if lt == layers.LinkTypeIPv4 && p.etype != 0x0800 || lt == layers.LinkTypeIPv6 && p.etype != 0x86dd {
					continue
				}
				b, _ := wrap(lt, p)
				if got := f.Matches(gopacket.CaptureInfo{}, b); got != want {
					t.Errorf("%s: got %v, want %v", name, got, want)
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr, lt, msg string
		unsupported   bool
	}{
		{expr: "tcp[13] & 2 != 0", unsupported: true,
			msg: `filter: cannot compile "tcp[13] & 2 != 0" in pure Go (arithmetic and byte offsets need the libpcap build: go build -tags libpcap)`},
		{expr: "ip[6:2] & 0x1fff = 0", unsupported: true,
			msg: `filter: cannot compile "ip[6:2] & 0x1fff = 0" in pure Go (arithmetic and byte offsets need the libpcap build: go build -tags libpcap)`},
		{expr: "len > 100", unsupported: true,
			msg: `filter: cannot compile "len > 100" in pure Go (arithmetic and byte offsets need the libpcap build: go build -tags libpcap)`},
		{expr: "ether host 02:00:00:00:00:01", unsupported: true,
			msg: `filter: cannot compile "ether host 02:00:00:00:00:01" in pure Go ("ether" needs the libpcap build: go build -tags libpcap)`},
		{expr: "greater 1000", unsupported: true,
			msg: `filter: cannot compile "greater 1000" in pure Go ("greater" needs the libpcap build: go build -tags libpcap)`},
		{expr: "host example.com", unsupported: true,
			msg: `filter: cannot compile "host example.com" in pure Go (host names are not looked up: give an address, or use the libpcap build: go build -tags libpcap)`},
		{expr: "port gopher", unsupported: true,
			msg: `filter: cannot compile "port gopher" in pure Go (service name "gopher" is not known here: give the number, or use the libpcap build: go build -tags libpcap)`},
		{expr: `ip proto \tcp`, unsupported: true,
			msg: `filter: cannot compile "ip proto \\tcp" in pure Go (escaped names (\tcp) need the libpcap build: go build -tags libpcap)`},
		{expr: "tcp and", msg: `filter: syntax error in "tcp and": expression ends after "and"`},
		{expr: "(tcp", msg: `filter: syntax error in "(tcp": missing ")"`},
		{expr: "tcp)", msg: `filter: syntax error in "tcp)": unbalanced ")"`},
		{expr: "tcp 443", msg: `filter: syntax error in "tcp 443": unexpected "443"`},
		{expr: "443", msg: `filter: syntax error in "443": unexpected "443"`},
		{expr: "port", msg: `filter: syntax error in "port": "port" needs a value`},
		{expr: "tcp prot 443", msg: `filter: syntax error in "tcp prot 443": unexpected "prot"`},
		{expr: "port 70000", msg: `filter: "port 70000": port 70000 out of range (0-65535)`},
		{expr: "portrange 1-2-3", msg: `filter: "portrange 1-2-3": port "2-3" is not a number`},
		{expr: "net 10.0.0.1/8", msg: `filter: "net 10.0.0.1/8": non-network bits set in "10.0.0.1/8"`},
		{expr: "host 10.0.0.0/8", msg: `filter: "host 10.0.0.0/8": mask syntax for networks only ("10.0.0.0/8")`},
		{expr: "host 300.1.1.1", msg: `filter: "host 300.1.1.1": "300.1.1.1" is not an IP address`},
		{expr: "tcp host 1.2.3.4", msg: `filter: "tcp host 1.2.3.4": 'tcp' modifier applied to host`},
		{expr: "ip6 host 1.2.3.4", msg: `filter: "ip6 host 1.2.3.4": 'ip6' modifier applied to ip host`},
		{expr: "ip port 80", msg: `filter: "ip port 80": illegal qualifier of 'port'`},
		{expr: "vlan 5000", msg: `filter: "vlan 5000": VLAN id 5000 out of range (0-4095)`},
		{expr: "vlan", lt: "sll", msg: `filter: "vlan": "vlan" needs Ethernet, not LINUX_SLL (113)`},
		{expr: strings.Repeat("(", 100) + "tcp" + strings.Repeat(")", 100), msg: `nested too deeply`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			lt := layers.LinkTypeEthernet
			if tt.lt == "sll" {
				lt = layers.LinkTypeLinuxSLL
			}
			_, err := CompileGo(tt.expr, lt, 0)
			if err == nil {
				t.Fatal("compiled")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error\n%s\nwant\n%s", err, tt.msg)
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Expr != tt.expr {
				t.Errorf("error %#v is not an *Error for the expression", err)
			}
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
		})
	}
}

func TestUnsupportedLinkType(t *testing.T) {
	_, err := CompileGo("tcp", layers.LinkTypeIEEE802_11, 0)
	if err == nil || err.Error() != `filter: "tcp": link type 105 is not supported` {
		t.Errorf("got %v", err)
	}
}

// TestSnaplen checks the return value of a matching packet.
func TestSnaplen(t *testing.T) {
	for _, tt := range []struct{ snaplen, want int }{{0, DefaultSnaplen}, {96, 96}, {65535, 65535}} {
		f, err := CompileGo("", layers.LinkTypeEthernet, tt.snaplen)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := f.vm.Run([]byte{1}); n != tt.want {
			t.Errorf("snaplen %d: program returns %d, want %d", tt.snaplen, n, tt.want)
		}
	}
}

// TestLongJumps compiles an expression whose program is longer than a
// conditional jump reaches (255 instructions), so that layout has to go
// through unconditional jumps, and checks the verdicts.
func TestLongJumps(t *testing.T) {
	var parts []string
	for i := 0; i < 60; i++ {
		parts = append(parts, fmt.Sprintf("host 2001:db8::%x", i+16))
	}
	expr := "tcp port 443 and (" + strings.Join(parts, " or ") + " or host 2001:db8:0:1::2)"
	f, err := CompileGo(expr, layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Instructions()) < 600 {
		t.Fatalf("program of %d instructions is too short for the test", len(f.Instructions()))
	}
	ps := testPackets(t)
	for name, want := range map[string]bool{v6TLS: true, v4TLS: false, v6UDP: false} {
		b, _ := wrap(layers.LinkTypeEthernet, packetNamed(t, ps, name))
		if got := f.Matches(gopacket.CaptureInfo{}, b); got != want {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	huge := strings.Repeat("host 2001:db8::1 or ", 500) + "tcp"
	if _, err := CompileGo(huge, layers.LinkTypeEthernet, 0); err == nil || !strings.Contains(err.Error(), "kernel's limit of 4096") {
		t.Errorf("huge program: %v", err)
	}
}

func TestMatchAllocs(t *testing.T) {
	f, err := CompileGo("tcp port 443 or host 2001:db8::1", layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := wrap(layers.LinkTypeEthernet, packetNamed(t, testPackets(t), v4TLS))
	ci := gopacket.CaptureInfo{CaptureLength: len(b), Length: len(b)}
	if n := testing.AllocsPerRun(1000, func() { f.Matches(ci, b) }); n != 0 {
		t.Errorf("Matches allocates %v times per packet", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	ps := testPackets(b)
	for _, bc := range []struct{ name, expr, pkt string }{
		{"tcp_port_443/match", "tcp port 443", v4TLS},
		{"tcp_port_443/ipv6", "tcp port 443", v6TLS},
		{"tcp_port_443/nomatch", "tcp port 443", v4UDPDNS},
		{"host_net_ports", "host 10.0.0.1 and (tcp port 443 or 8443) and not net 192.168.0.0/16", v4TLS},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := CompileGo(bc.expr, layers.LinkTypeEthernet, 0)
			if err != nil {
				b.Fatal(err)
			}
			data, _ := wrap(layers.LinkTypeEthernet, packetNamed(b, ps, bc.pkt))
			ci := gopacket.CaptureInfo{CaptureLength: len(data), Length: len(data)}
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				f.Matches(ci, data)
			}
		})
	}
}

func FuzzCompile(f *testing.F) {
	for _, e := range crossExprs {
		f.Add(e)
	}
	for _, tt := range matchTests {
		f.Add(tt.expr)
	}
	f.Add("tcp[13] & 2 != 0")
	f.Add("((((tcp))))")
	f.Add("net 1.2.3.4 mask 255.0.255.0")
	ps := testPackets(f)
	f.Fuzz(func(t *testing.T, expr string) {
		for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeNull} {
			flt, err := CompileGo(expr, lt, 0)
			if err != nil {
				var fe *Error
				if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "filter: ") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("bad error %q", err)
				}
				continue
			}
			if len(flt.RawInstructions()) > maxInstructions {
				t.Fatalf("program of %d instructions", len(flt.RawInstructions()))
			}
			for _, p := range ps {
				if b, ok := wrap(lt, p); ok {
					flt.Matches(gopacket.CaptureInfo{}, b)
				}
			}
			if _, err := CompileSocket(expr, Socket{Cooked: lt == layers.LinkTypeRaw, LoopbackIndex: 1}, 0); err != nil {
				t.Fatalf("compiles for %v but not for a socket: %v", lt, err)
			}
		}
	})
}
