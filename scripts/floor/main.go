// Copied from the shared benchmark kit, /work/shared/bench/floor/main.go (2026-11-23); there it is its
// own module pinned to gopacket v1.7.7, the version this module uses too. Added here: -gz, the floor of
// a .pcap.gz (decompression alone). scripts/bench.sh builds it to time the bare read loop beside
// tlsresume.

// Command floor is the speed floor for reading a capture file: it reads a pcap
// or pcapng file with gopacket's pure-Go pcapgo reader, one packet at a time
// through ZeroCopyReadPacketData, and counts packets and captured bytes. Any
// analyzer that reads the same file with the same reader can be no faster.
//
// With -decode it also decodes Ethernet (or Linux SLL, or raw IP), IPv4, IPv6,
// TCP and UDP with a gopacket.DecodingLayerParser over preallocated layers, and
// counts the TCP segments that carry payload: the floor for a tool that looks
// at every packet's headers before it reassembles anything.
//
// With -gz it only decompresses FILE, a gzip stream, and throws the bytes
// away: the floor for reading a .pcap.gz, which no reader of it can beat.
// -gzlib says whose inflater: klauspost (github.com/klauspost/compress/gzip,
// what tlsresume uses) or std (compress/gzip, what pcapgo uses).
//
// Usage:
//
//	floor [-decode] FILE
//	floor -gz [-gzlib klauspost|std] FILE.gz
//
// Output, one line on stdout:
//
//	packets N bytes B
//	packets N bytes B tcp T tcp_payload P udp U other O decode_errors E   (with -decode)
//	inflated B   (with -gz: the decompressed length)
//
// bytes is the sum of the captured lengths of the packets (record headers not
// included). Exit status: 0 on success, 1 on a read error (the counts so far are
// still printed), 2 on a usage error.
package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	kgzip "github.com/klauspost/compress/gzip"
)

// readBufferSize is the read-ahead buffer between the file and the pcap
// reader; pcapgo's own default (4 KiB) costs a system call every few packets.
const readBufferSize = 1 << 20

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// packetReader is what pcapgo.Reader and pcapgo.NgReader have in common.
type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	decode := fs.Bool("decode", false, "also decode link, IP, TCP and UDP headers and count TCP segments with payload")
	gz := fs.Bool("gz", false, "only decompress FILE, a gzip stream, and count the bytes")
	gzlib := fs.String("gzlib", "klauspost", "the inflater for -gz: klauspost or std")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: floor [-decode] FILE | floor -gz [-gzlib klauspost|std] FILE.gz")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}

	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	defer f.Close()

	if *gz {
		n, err := inflate(f, *gzlib)
		fmt.Fprintf(stdout, "inflated %d\n", n)
		if err != nil {
			fmt.Fprintf(stderr, "floor: %s: %v\n", fs.Arg(0), err)
			return 1
		}
		return 0
	}

	r, err := openReader(bufio.NewReaderSize(f, readBufferSize))
	if err != nil {
		fmt.Fprintf(stderr, "floor: %s: %v\n", fs.Arg(0), err)
		return 1
	}

	var c counts
	if *decode {
		err = countDecoded(r, &c)
	} else {
		err = countRaw(r, &c)
	}
	if *decode {
		fmt.Fprintf(stdout, "packets %d bytes %d tcp %d tcp_payload %d udp %d other %d decode_errors %d\n",
			c.packets, c.bytes, c.tcp, c.tcpPayload, c.udp, c.other, c.decodeErrors)
	} else {
		fmt.Fprintf(stdout, "packets %d bytes %d\n", c.packets, c.bytes)
	}
	if err != nil {
		fmt.Fprintf(stderr, "floor: %s: after %d packets: %v\n", fs.Arg(0), c.packets, err)
		return 1
	}
	return 0
}

// inflate decompresses r with the named gzip library into a buffer that is
// reused, and returns the decompressed length.
func inflate(r io.Reader, lib string) (int64, error) {
	br := bufio.NewReaderSize(r, readBufferSize)
	var zr io.Reader
	switch lib {
	case "klauspost":
		z, err := kgzip.NewReader(br)
		if err != nil {
			return 0, err
		}
		zr = z
	case "std":
		z, err := gzip.NewReader(br)
		if err != nil {
			return 0, err
		}
		zr = z
	default:
		return 0, fmt.Errorf("-gzlib %q: want klauspost or std", lib)
	}
	buf := make([]byte, readBufferSize)
	var n int64
	for {
		m, err := zr.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// openReader picks the pcapng or the pcap reader from the file's first four
// bytes. Both readers accept a *bufio.Reader and keep it as it is.
func openReader(br *bufio.Reader) (packetReader, error) {
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("reading file header: %w", err)
	}
	// pcapng Section Header Block type, the same in either byte order.
	if magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a {
		return pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
	}
	return pcapgo.NewReader(br)
}

type counts struct {
	packets, bytes              uint64
	tcp, tcpPayload, udp, other uint64
	decodeErrors                uint64
}

func countRaw(r packetReader, c *counts) error {
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		c.packets++
		c.bytes += uint64(len(data))
	}
}

func countDecoded(r packetReader, c *counts) error {
	var (
		eth  layers.Ethernet
		sll  layers.LinuxSLL
		ip4  layers.IPv4
		ip6  layers.IPv6
		tcp  layers.TCP
		udp  layers.UDP
		seen = make([]gopacket.LayerType, 0, 8)
	)
	newParser := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first, &eth, &sll, &ip4, &ip6, &tcp, &udp)
		p.IgnoreUnsupported = true
		return p
	}

	// Raw-IP captures carry no link header: the version nibble picks the parser.
	var linkParser, v4Parser, v6Parser *gopacket.DecodingLayerParser
	switch lt := r.LinkType(); lt {
	case layers.LinkTypeEthernet:
		linkParser = newParser(layers.LayerTypeEthernet)
	case layers.LinkTypeLinuxSLL:
		linkParser = newParser(layers.LayerTypeLinuxSLL)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		v4Parser = newParser(layers.LayerTypeIPv4)
		v6Parser = newParser(layers.LayerTypeIPv6)
	default:
		return fmt.Errorf("link type %v is not decoded", lt)
	}

	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		c.packets++
		c.bytes += uint64(len(data))

		p := linkParser
		if p == nil {
			if len(data) > 0 && data[0]>>4 == 6 {
				p = v6Parser
			} else {
				p = v4Parser
			}
		}
		if err := p.DecodeLayers(data, &seen); err != nil {
			c.decodeErrors++
		}
		switch last := lastLayer(seen); last {
		case layers.LayerTypeTCP:
			c.tcp++
			if len(tcp.Payload) > 0 {
				c.tcpPayload++
			}
		case layers.LayerTypeUDP:
			c.udp++
		default:
			c.other++
		}
	}
}

func lastLayer(seen []gopacket.LayerType) gopacket.LayerType {
	if len(seen) == 0 {
		return gopacket.LayerTypeZero
	}
	return seen[len(seen)-1]
}
