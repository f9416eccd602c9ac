// Command hostile writes captures of hostile traffic shapes, to check that
// tlsresume stays within its memory and time bounds on them
// (scripts/hostile.sh runs it on each shape).
//
//	go run ./internal/hostile -shape NAME [-n N] -o FILE.pcap
//
// Shapes (-n scales each; -list prints them):
//
//	syn-flood          N half-open flows: a SYN each, nothing more
//	huge-hello         a ClientHello announcing 16 MB, then N MB of handshake records
//	stalled-hellos     N connections that stop after 1000 bytes of a 1500-byte ClientHello record
//	stalled-big-hellos N connections that stop after 48 KiB of a 60 KiB ClientHello message
//	one-byte-records   a ClientHello, then N one-byte handshake records from the client (empty HelloRequests)
//	ooo-flood          N connections, each 1000 one-byte segments after a hole that is never filled
//	session-flood      N full TLS 1.2 handshakes, each issuing a ticket of its own: N sessions
//
// The TLS messages are minimal but well-formed (a ClientHello with an empty
// session_ticket extension, a ServerHello, an empty Certificate,
// ServerHelloDone, NewSessionTicket, ChangeCipherSpec). Packets are
// Ethernet/IPv4/TCP, 10 µs apart unless a shape says otherwise; checksums
// are not computed. Everything is deterministic.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

type shape struct {
	n    int // default scale
	desc string
	gen  func(w *writer, n int) error
}

var shapes = map[string]shape{
	"syn-flood":          {300000, "N half-open flows: a SYN each, nothing more", synFlood},
	"huge-hello":         {100, "a ClientHello announcing 16 MB, then N MB of handshake records", hugeHello},
	"stalled-hellos":     {50000, "N connections that stop after 1000 bytes of a 1500-byte ClientHello record", stalledHellos},
	"stalled-big-hellos": {10000, "N connections that stop after 48 KiB of a 60 KiB ClientHello message", stalledBigHellos},
	"one-byte-records":   {20000000, "a ClientHello, then N one-byte handshake records from the client (empty HelloRequests)", oneByteRecords},
	"ooo-flood":          {2000, "N connections, each 1000 one-byte segments after a hole that is never filled", oooFlood},
	"session-flood":      {600000, "N full TLS 1.2 handshakes, each issuing a ticket of its own: N sessions", sessionFlood},
}

func main() {
	name := flag.String("shape", "", "the shape to write (see -list)")
	out := flag.String("o", "", "output `FILE` (- for stdout)")
	n := flag.Int("n", 0, "scale of the shape (0: its default)")
	list := flag.Bool("list", false, "list the shapes")
	flag.Parse()
	if *list {
		names := make([]string, 0, len(shapes))
		for k := range shapes {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Printf("%-20s %s (default N %d)\n", k, shapes[k].desc, shapes[k].n)
		}
		return
	}
	sh, ok := shapes[*name]
	if !ok || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: hostile -shape NAME [-n N] -o FILE (hostile -list shows the shapes)")
		os.Exit(2)
	}
	if *n <= 0 {
		*n = sh.n
	}
	var f io.Writer = os.Stdout
	if *out != "-" {
		file, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			os.Exit(1)
		}
		defer file.Close()
		f = file
	}
	w, err := newWriter(f)
	if err == nil {
		err = sh.gen(w, *n)
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

// writer writes Ethernet/IPv4/TCP packets to a pcap on a virtual clock.
type writer struct {
	bw   *bufio.Writer
	pw   *pcapgo.Writer
	buf  gopacket.SerializeBuffer
	now  time.Time
	step time.Duration
	rng  *rand.Rand
	eth  layers.Ethernet
	ip   layers.IPv4
	tcp  layers.TCP
}

func newWriter(f io.Writer) (*writer, error) {
	bw := bufio.NewWriterSize(f, 1<<20)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return &writer{
		bw: bw, pw: pw, buf: gopacket.NewSerializeBuffer(),
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), step: 10 * time.Microsecond,
		rng: rand.New(rand.NewPCG(1, 2)),
		eth: layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
			EthernetType: layers.EthernetTypeIPv4},
		ip: layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP},
	}, nil
}

// conn is one TCP connection: client and server addresses and the next
// sequence number of each side.
type conn struct {
	cip, sip     net.IP
	cport, sport uint16
	cseq, sseq   uint32
}

// newConn numbers connections so that every one has its own 4-tuple:
// clients in 10.0.0.0/8, servers 192.0.2.1:443.
func newConn(i int) *conn {
	return &conn{
		cip:   net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)},
		sip:   net.IP{192, 0, 2, 1},
		cport: uint16(10000 + i%50000), sport: 443,
		cseq: uint32(i) * 7919, sseq: uint32(i) * 104729,
	}
}

// packet writes one segment; seq is its sequence number.
func (w *writer) packet(c *conn, fromClient bool, syn, ack bool, seq, ackn uint32, payload []byte) error {
	w.ip.SrcIP, w.ip.DstIP = c.cip, c.sip
	sp, dp := c.cport, c.sport
	if !fromClient {
		w.ip.SrcIP, w.ip.DstIP = c.sip, c.cip
		sp, dp = dp, sp
	}
	w.tcp = layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Ack: ackn,
		SYN: syn, ACK: ack, PSH: len(payload) > 0, Window: 65535}
	if err := gopacket.SerializeLayers(w.buf, gopacket.SerializeOptions{FixLengths: true},
		&w.eth, &w.ip, &w.tcp, gopacket.Payload(payload)); err != nil {
		return err
	}
	b := w.buf.Bytes()
	w.now = w.now.Add(w.step)
	return w.pw.WritePacket(gopacket.CaptureInfo{Timestamp: w.now, CaptureLength: len(b), Length: len(b)}, b)
}

// handshake writes SYN, SYN-ACK and ACK.
func (w *writer) handshake(c *conn) error {
	if err := w.packet(c, true, true, false, c.cseq, 0, nil); err != nil {
		return err
	}
	if err := w.packet(c, false, true, true, c.sseq, c.cseq+1, nil); err != nil {
		return err
	}
	c.cseq++
	c.sseq++
	return w.packet(c, true, false, true, c.cseq, c.sseq, nil)
}

// send writes data from one side in segments of at most 1460 bytes.
func (w *writer) send(c *conn, fromClient bool, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), 1460)
		var err error
		if fromClient {
			err = w.packet(c, true, false, true, c.cseq, c.sseq, data[:n])
			c.cseq += uint32(n)
		} else {
			err = w.packet(c, false, false, true, c.sseq, c.cseq, data[:n])
			c.sseq += uint32(n)
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// TLS bytes.

func record(typ byte, payload []byte) []byte {
	b := []byte{typ, 3, 3, byte(len(payload) >> 8), byte(len(payload))}
	return append(b, payload...)
}

func hsMsg(typ byte, body []byte) []byte {
	b := []byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	return append(b, body...)
}

func u16(b []byte, v int) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }

// clientHelloBody is a TLS 1.2 ClientHello offering one suite, with an
// empty session_ticket extension and a padding extension of pad bytes.
func (w *writer) clientHelloBody(pad int) []byte {
	b := []byte{3, 3}
	b = append(b, w.random(32)...)
	b = append(b, 0)             // session_id
	b = u16(b, 2)                // cipher suites
	b = u16(b, 0xc02f)           // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	b = append(b, 1, 0)          // compression: null
	ext := u16(u16(nil, 35), 0)  // session_ticket, empty: "I support tickets"
	ext = u16(u16(ext, 21), pad) // padding (RFC 7685)
	ext = append(ext, make([]byte, pad)...)
	b = u16(b, len(ext))
	return append(b, ext...)
}

func (w *writer) serverHelloBody() []byte {
	b := []byte{3, 3}
	b = append(b, w.random(32)...)
	b = append(b, 0)
	b = u16(b, 0xc02f)
	b = append(b, 0)
	ext := u16(u16(nil, 35), 0)
	b = u16(b, len(ext))
	return append(b, ext...)
}

func (w *writer) random(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(w.rng.Uint32())
	}
	return b
}

// fullFlight is the server's first flight of a TLS 1.2 full handshake:
// ServerHello, Certificate (empty list), ServerHelloDone.
func (w *writer) fullFlight() []byte {
	msgs := append(hsMsg(2, w.serverHelloBody()), hsMsg(11, []byte{0, 0, 0})...)
	msgs = append(msgs, hsMsg(14, nil)...)
	return record(22, msgs)
}

// Shapes.

func synFlood(w *writer, n int) error {
	for i := range n {
		c := newConn(i)
		if err := w.packet(c, true, true, false, c.cseq, 0, nil); err != nil {
			return err
		}
	}
	return nil
}

func hugeHello(w *writer, mb int) error {
	c := newConn(1)
	if err := w.handshake(c); err != nil {
		return err
	}
	// RFC 8446, Section 4: a 24-bit length; 0xffffff is 16 MB.
	first := append([]byte{1, 0xff, 0xff, 0xff}, w.clientHelloBody(0)...)
	first = append(first, make([]byte, 16384-len(first))...)
	if err := w.send(c, true, record(22, first)); err != nil {
		return err
	}
	chunk := record(22, make([]byte, 16384))
	for i := 0; i < mb*64; i++ {
		if err := w.send(c, true, chunk); err != nil {
			return err
		}
	}
	return nil
}

func stalledHellos(w *writer, n int) error {
	for i := range n {
		c := newConn(i)
		if err := w.handshake(c); err != nil {
			return err
		}
		ch := record(22, hsMsg(1, w.clientHelloBody(1440))) // 1500 bytes
		if err := w.send(c, true, ch[:1000]); err != nil {
			return err
		}
	}
	return nil
}

func stalledBigHellos(w *writer, n int) error {
	for i := range n {
		c := newConn(i)
		if err := w.handshake(c); err != nil {
			return err
		}
		// One 60 KiB ClientHello message in four records of 15 KiB (RFC
		// 8446, Section 5.1: a message may span records); the last is
		// never sent.
		msg := hsMsg(1, w.clientHelloBody(60<<10-100))
		var recs []byte
		for off := 0; off < len(msg); off += 15 << 10 {
			recs = append(recs, record(22, msg[off:min(off+15<<10, len(msg))])...)
		}
		if err := w.send(c, true, recs[:48<<10]); err != nil {
			return err
		}
	}
	return nil
}

func oneByteRecords(w *writer, n int) error {
	c := newConn(1)
	if err := w.handshake(c); err != nil {
		return err
	}
	if err := w.send(c, true, record(22, hsMsg(1, w.clientHelloBody(0)))); err != nil {
		return err
	}
	// Then handshake records of one byte each, forever: every four make
	// an empty HelloRequest (RFC 5246, Section 7.4.1.1), which ends
	// nothing. The server never answers.
	one := record(22, []byte{0})
	buf := make([]byte, 0, 292*len(one))
	for i := 0; i < n; i += 292 {
		buf = buf[:0]
		for j := 0; j < 292 && i+j < n; j++ {
			buf = append(buf, one...)
		}
		if err := w.send(c, true, buf); err != nil {
			return err
		}
	}
	return nil
}

func oooFlood(w *writer, n int) error {
	// All within one second of capture time, below the 2 s gap timeout.
	w.step = time.Second / time.Duration(n*1004)
	for i := range n {
		c := newConn(i)
		if err := w.handshake(c); err != nil {
			return err
		}
		// Byte 0 never comes; bytes 2, 4, 6, ... do, one per segment.
		for k := 1; k <= 1000; k++ {
			if err := w.packet(c, true, false, true, c.cseq+uint32(2*k), c.sseq, []byte{0x16}); err != nil {
				return err
			}
		}
	}
	return nil
}

func sessionFlood(w *writer, n int) error {
	for i := range n {
		c := newConn(i)
		// No SYNs: the capture starts mid-connection, which keeps the file
		// small (the flow is still read from its first record).
		if err := w.send(c, true, record(22, hsMsg(1, w.clientHelloBody(0)))); err != nil {
			return err
		}
		if err := w.send(c, false, w.fullFlight()); err != nil {
			return err
		}
		// NewSessionTicket (RFC 5077, Section 3.3): a lifetime hint and
		// a ticket of its own, then ChangeCipherSpec.
		nst := binary.BigEndian.AppendUint32(nil, 7200)
		nst = u16(nst, 64)
		nst = append(nst, w.random(64)...)
		flight := append(record(22, hsMsg(4, nst)), record(20, []byte{1})...)
		if err := w.send(c, false, flight); err != nil {
			return err
		}
	}
	return nil
}
