package filter

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// skb is the ancillary data a socket filter can read.
type skb struct {
	proto      uint16 // SKF_AD_PROTOCOL
	pktType    uint32 // SKF_AD_PKTTYPE
	ifindex    uint32 // SKF_AD_IFINDEX
	vlanTCI    uint32 // SKF_AD_VLAN_TAG
	vlanTagged bool   // SKF_AD_VLAN_TAG_PRESENT
}

// runSocket runs a classic BPF program the way the kernel runs a socket
// filter, with the ancillary loads CompileSocket uses (the bpf package's VM
// has none of them). It returns the program's result; a load past the end
// of the packet returns 0.
func runSocket(t *testing.T, prog []bpf.RawInstruction, data []byte, m skb) uint32 {
	t.Helper()
	var a, x uint32
	load := func(off uint32, size int) (uint32, bool) {
		if uint64(off)+uint64(size) > uint64(len(data)) {
			return 0, false
		}
		switch size {
		case 1:
			return uint32(data[off]), true
		case 2:
			return uint32(binary.BigEndian.Uint16(data[off:])), true
		}
		return binary.BigEndian.Uint32(data[off:]), true
	}
	for pc := 0; pc < len(prog); pc++ {
		switch in := prog[pc].Disassemble().(type) {
		case bpf.LoadAbsolute:
			v, ok := load(in.Off, in.Size)
			if !ok {
				return 0
			}
			a = v
		case bpf.LoadIndirect:
			v, ok := load(in.Off+x, in.Size)
			if !ok {
				return 0
			}
			a = v
		case bpf.LoadMemShift:
			v, ok := load(in.Off, 1)
			if !ok {
				return 0
			}
			x = 4 * (v & 0xf)
		case bpf.LoadExtension:
			switch in.Num {
			case bpf.ExtProto:
				a = uint32(m.proto)
			case bpf.ExtType:
				a = m.pktType
			case bpf.ExtInterfaceIndex:
				a = m.ifindex
			case bpf.ExtVLANTag:
				a = m.vlanTCI
			case bpf.ExtVLANTagPresent:
				a = 0
				if m.vlanTagged {
					a = 1
				}
			default:
				t.Fatalf("extension %d", in.Num)
			}
		case bpf.ALUOpConstant:
			if in.Op != bpf.ALUOpAnd {
				t.Fatalf("alu op %v", in)
			}
			a &= in.Val
		case bpf.Jump:
			pc += int(in.Skip)
		case bpf.JumpIf:
			var ok bool
			switch in.Cond {
			case bpf.JumpEqual:
				ok = a == in.Val
			case bpf.JumpGreaterThan:
				ok = a > in.Val
			case bpf.JumpGreaterOrEqual:
				ok = a >= in.Val
			case bpf.JumpBitsSet:
				ok = a&in.Val != 0
			case bpf.JumpNotEqual:
				ok = a != in.Val
			case bpf.JumpLessThan:
				ok = a < in.Val
			case bpf.JumpLessOrEqual:
				ok = a <= in.Val
			case bpf.JumpBitsNotSet:
				ok = a&in.Val == 0
			default:
				t.Fatalf("jump %v", in)
			}
			if ok {
				pc += int(in.SkipTrue)
			} else {
				pc += int(in.SkipFalse)
			}
		case bpf.RetConstant:
			return in.Val
		default:
			t.Fatalf("instruction %v", in)
		}
	}
	t.Fatal("program runs off its end")
	return 0
}

// TestSocketLikeFile checks that, for every expression without "vlan", a
// socket program gives the same verdict on a packet as the capture-file
// program for Ethernet: on a SOCK_RAW socket (Ethernet header) and on a
// cooked SOCK_DGRAM one (network header, protocol in ancillary data, only
// IPv4 and IPv6).
func TestSocketLikeFile(t *testing.T) {
	ps := testPackets(t)
	for _, expr := range crossExprs {
		if strings.Contains(expr, "vlan") {
			continue
		}
		f, err := CompileGo(expr, layers.LinkTypeEthernet, 0)
		if err != nil {
			if _, serr := CompileSocket(expr, Socket{}, 0); serr == nil {
				t.Errorf("%q: file: %v, socket: compiles", expr, err)
			}
			continue
		}
		rawProg, err := CompileSocket(expr, Socket{}, 0)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		cooked, err := CompileSocket(expr, Socket{Cooked: true}, 0)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		for _, p := range ps {
			if len(p.vlans) > 0 || p.cut > 0 {
				continue
			}
			eth, _ := wrap(layers.LinkTypeEthernet, p)
			want := f.Matches(gopacket.CaptureInfo{}, eth)
			m := skb{proto: p.etype}
			if got := runSocket(t, rawProg, eth, m) > 0; got != want {
				t.Errorf("%q: %s: raw socket %v, file %v", expr, p.name, got, want)
			}
			wantCooked := want && (p.etype == 0x0800 || p.etype == 0x86dd)
			if got := runSocket(t, cooked, p.l3, m) > 0; got != wantCooked {
				t.Errorf("%q: %s: cooked socket %v, want %v", expr, p.name, got, wantCooked)
			}
		}
	}
}

// TestSocketLoopbackAndVLAN checks what only sockets have: packets sent on
// the loopback device are dropped, VLAN tags are read from ancillary data
// and do not move the offsets, and the snap length.
func TestSocketLoopbackAndVLAN(t *testing.T) {
	ps := testPackets(t)
	p := packetNamed(t, ps, v4TLS)
	eth, _ := wrap(layers.LinkTypeEthernet, p)
	const lo = 1
	tests := []struct {
		name string
		expr string
		s    Socket
		data []byte
		m    skb
		want uint32
	}{
		{"received on lo", "tcp port 443", Socket{LoopbackIndex: lo}, eth, skb{proto: 0x800, ifindex: lo}, 96},
		{"sent on lo", "tcp port 443", Socket{LoopbackIndex: lo}, eth, skb{proto: 0x800, ifindex: lo, pktType: packetOutgoing}, 0},
		{"sent on lo, no filter", "", Socket{LoopbackIndex: lo}, eth, skb{proto: 0x800, ifindex: lo, pktType: packetOutgoing}, 0},
		{"sent on eth0, any", "", Socket{Cooked: true, LoopbackIndex: lo}, p.l3, skb{proto: 0x800, ifindex: 2, pktType: packetOutgoing}, 96},
		{"sent on lo, any", "", Socket{Cooked: true, LoopbackIndex: lo}, p.l3, skb{proto: 0x800, ifindex: lo, pktType: packetOutgoing}, 0},
		{"arp, any", "", Socket{Cooked: true}, make([]byte, 28), skb{proto: 0x806}, 0},
		{"vlan tagged", "vlan 10 and tcp port 443", Socket{}, eth, skb{proto: 0x800, vlanTagged: true, vlanTCI: 0x2000 | 10}, 96},
		{"other vlan", "vlan 11 and tcp port 443", Socket{}, eth, skb{proto: 0x800, vlanTagged: true, vlanTCI: 10}, 0},
		{"untagged", "vlan", Socket{}, eth, skb{proto: 0x800}, 0},
		{"vlan, any", "vlan and tcp", Socket{Cooked: true}, p.l3, skb{proto: 0x800, vlanTagged: true, vlanTCI: 10}, 96},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := CompileSocket(tt.expr, tt.s, 96)
			if err != nil {
				t.Fatal(err)
			}
			if got := runSocket(t, prog, tt.data, tt.m); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}
