package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Hand-made pcapng blocks (draft-ietf-opsawg-pcapng), little-endian.

func ngBlock(typ uint32, body []byte) []byte {
	pad := (4 - len(body)%4) % 4
	total := uint32(12 + len(body) + pad)
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, total)
	b = append(b, body...)
	b = append(b, make([]byte, pad)...)
	return binary.LittleEndian.AppendUint32(b, total)
}

func ngSHB() []byte {
	body := binary.LittleEndian.AppendUint32(nil, 0x1a2b3c4d)
	body = binary.LittleEndian.AppendUint16(body, 1)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint64(body, ^uint64(0)) // section length unknown
	return ngBlock(0x0a0d0d0a, body)
}

func ngIDB(lt layers.LinkType) []byte {
	body := binary.LittleEndian.AppendUint16(nil, uint16(lt))
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint32(body, 262144)
	return ngBlock(1, body)
}

// ngEPB is an enhanced packet block with microsecond timestamps (the
// default if_tsresol).
func ngEPB(iface uint32, ci gopacket.CaptureInfo, data []byte) []byte {
	us := uint64(ci.Timestamp.UnixMicro())
	body := binary.LittleEndian.AppendUint32(nil, iface)
	body = binary.LittleEndian.AppendUint32(body, uint32(us>>32))
	body = binary.LittleEndian.AppendUint32(body, uint32(us))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(data)))
	body = binary.LittleEndian.AppendUint32(body, uint32(ci.Length))
	body = append(body, data...)
	return ngBlock(6, body)
}

// capPacket is one packet of a capture, with the TCP flow it belongs to
// (numbered by first packet, from 1).
type capPacket struct {
	ci   gopacket.CaptureInfo
	data []byte
	flow int
}

func readPcapPackets(t *testing.T, path string) []capPacket {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	flows := map[string]int{}
	var out []capPacket
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		f := 0
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			a, b := p.NetworkLayer().NetworkFlow().Src().String()+tcp.SrcPort.String(), p.NetworkLayer().NetworkFlow().Dst().String()+tcp.DstPort.String()
			if a > b {
				a, b = b, a
			}
			k := a + "|" + b
			if flows[k] == 0 {
				flows[k] = len(flows) + 1
			}
			f = flows[k]
		}
		out = append(out, capPacket{ci, data, f})
	}
	return out
}

var ngErrLine = regexp.MustCompile(`^tlsresume: stdin: (malformed pcapng file|truncated capture file) after (\d+) packets?[:( ].*\n$`)

// TestPcapngHostileBlocks reads hand-made pcapng files with the packets of
// an OpenSSL capture and blocks a reader must skip (unknown types, custom
// blocks, statistics, an interface of an unsupported link type) or must
// refuse (bad lengths, an unknown interface, a bad byte-order magic). Skipped
// blocks change nothing in the output; a refused block ends the input with
// exit 1 and one line on stderr, after every connection read before it.
func TestPcapngHostileBlocks(t *testing.T) {
	pkts := readPcapPackets(t, filepath.Join(pcapDir, "openssl", "tls12-ticket.pcap"))
	last := 0
	for _, p := range pkts {
		last = max(last, p.flow)
	}
	plain, errs, code := runTool(t, "-r", filepath.Join(pcapDir, "openssl", "tls12-ticket.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := connLines(t, plain)
	if len(want) != last {
		t.Fatalf("%d conns, %d flows", len(want), last)
	}

	// build writes the packets as pcapng; before the last flow's first
	// packet it writes mid, and between packets every after(i).
	build := func(head []byte, mid []byte, between func(i int) []byte) []byte {
		b := append(ngSHB(), head...)
		midDone := false
		for i, p := range pkts {
			if p.flow == last && !midDone {
				b = append(b, mid...)
				midDone = true
			}
			b = append(b, ngEPB(0, p.ci, p.data)...)
			if between != nil {
				b = append(b, between(i)...)
			}
		}
		return b
	}
	before := 0 // packets before the last flow's first
	for _, p := range pkts {
		if p.flow == last {
			break
		}
		before++
	}
	unknown := ngBlock(0x00000bad, []byte("an unknown block type, 23"))
	custom := ngBlock(0x40000bad, append(binary.LittleEndian.AppendUint32(nil, 32473), "custom block, copy not allowed"...))
	isb := ngBlock(5, make([]byte, 12)) // interface statistics, no options
	skipped := []struct {
		name string
		data []byte
	}{
		{"unknown and custom blocks", build(append(ngIDB(layers.LinkTypeEthernet), unknown...), custom, func(i int) []byte {
			switch i % 3 {
			case 0:
				return unknown
			case 1:
				return custom
			}
			return isb
		})},
		{"unsupported interface", build(append(ngIDB(layers.LinkTypeEthernet), ngIDB(147)...), nil, func(i int) []byte {
			return ngEPB(1, pkts[i].ci, []byte("USER0 link type: not decoded, not counted as TCP"))
		})},
		{"block trailer disagrees", build(ngIDB(layers.LinkTypeEthernet), func() []byte {
			b := ngBlock(0x00000bad, make([]byte, 8))
			binary.LittleEndian.PutUint32(b[len(b)-4:], 999)
			return b
		}(), nil)},
	}
	for _, tc := range skipped {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runBytes(t, tc.data)
			if code != 0 || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			parseEvents(t, out)
			got := connLines(t, out)
			for id, line := range want {
				// Wireshark numbers custom and unknown blocks as frames
				// too, so the frame numbers move; nothing else may.
				if withoutFrames(got[id]) != withoutFrames(line) {
					t.Errorf("conn %d:\n got %s\nwant %s", id, got[id], line)
				}
			}
		})
	}

	hugeLen := ngBlock(0x00000bad, make([]byte, 8))
	binary.LittleEndian.PutUint32(hugeLen[4:], 0xfffffff0)
	tooShort := ngBlock(0x00000bad, nil)
	binary.LittleEndian.PutUint32(tooShort[4:], 4)
	odd := ngBlock(0x00000bad, make([]byte, 8))
	binary.LittleEndian.PutUint32(odd[4:], 21)
	capOverBlock := ngEPB(0, pkts[before].ci, pkts[before].data)
	binary.LittleEndian.PutUint32(capOverBlock[20:], uint32(len(pkts[before].data)+4000))
	noIface := ngEPB(7, pkts[before].ci, pkts[before].data)
	badSHB := ngSHB()
	binary.LittleEndian.PutUint32(badSHB[8:], 0x12345678)
	// A block whose length runs past the end of the file is a cut file; one
	// whose length cannot be right is malformed, not truncated.
	const truncated, malformed = "truncated capture file", "malformed pcapng file"
	refused := []struct {
		name string
		mid  []byte
		want string
	}{
		{"block length 4 GiB", hugeLen, truncated},
		{"block length below the minimum", tooShort, malformed},
		{"block length not a multiple of 4", odd, malformed},
		{"captured length beyond the block", capOverBlock, malformed},
		{"unknown interface", noIface, malformed},
		{"bad byte-order magic", badSHB, malformed},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			data := build(ngIDB(layers.LinkTypeEthernet), tc.mid, nil)
			out, errs, code := runBytes(t, data)
			if code != 1 {
				t.Errorf("exit %d, want 1 (stderr %q)", code, errs)
			}
			m := ngErrLine.FindStringSubmatch(errs)
			if strings.Count(errs, "\n") != 1 || m == nil {
				t.Errorf("stderr %q, want one line naming the damage", errs)
			} else if m[1] != tc.want {
				t.Errorf("stderr %q, want %q", errs, tc.want)
			}
			parseEvents(t, out)
			got := connLines(t, out)
			for id, line := range want {
				if id != last && got[id] != line {
					t.Errorf("conn %d, read before the damage:\n got %s\nwant %s", id, got[id], line)
				}
			}
			if len(got) > len(want) {
				t.Errorf("%d conns, the capture has %d", len(got), len(want))
			}
		})
	}
}

var frameFields = regexp.MustCompile(`,"client_hello_frame":(null|[0-9]+),"server_hello_frame":(null|[0-9]+)`)

// withoutFrames drops a conn line's frame numbers.
func withoutFrames(line string) string { return frameFields.ReplaceAllString(line, "") }
