package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// want is a packet as a test expects to read it back.
type want struct {
	data     []byte
	ts       time.Time
	origLen  int
	linkType layers.LinkType
}

// baseTime has nanoseconds, so that microsecond files lose some.
var baseTime = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

// genPackets makes n packets with varied sizes (an empty one, small ones,
// full-size ones), some cut by a snap length, on link type lt.
func genPackets(seed uint64, n int, maxLen int, lt layers.LinkType) []want {
	rng := rand.New(rand.NewPCG(seed, 1))
	ws := make([]want, n)
	for i := range ws {
		size := rng.IntN(maxLen + 1)
		if i == 1 {
			size = 0
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		orig := size
		if i%3 == 2 {
			orig += 1 + rng.IntN(1000) // cut by the snap length
		}
		ws[i] = want{
			data:     data,
			ts:       baseTime.Add(time.Duration(i)*(time.Second+1001*time.Nanosecond) + time.Duration(rng.IntN(1e9))),
			origLen:  orig,
			linkType: lt,
		}
	}
	return ws
}

// recordEnds are the offsets in a capture file after which a cut leaves a
// well-formed file: after the file header and after each record or block.
// packetsBefore[i] is the number of packets in the file up to recordEnds[i].
type layout struct {
	ends          []int
	packetsBefore []int
}

func (l *layout) mark(off, pkts int) {
	l.ends = append(l.ends, off)
	l.packetsBefore = append(l.packetsBefore, pkts)
}

// complete returns how many packets lie entirely before cut, and whether
// cut is at a boundary.
func (l *layout) complete(cut int) (n int, boundary bool) {
	for i, e := range l.ends {
		if e <= cut {
			n = l.packetsBefore[i]
		}
		if e == cut {
			boundary = true
		}
	}
	return n, boundary
}

// writePcap writes ws with pcapgo's writer, microsecond or nanosecond, and
// returns the file and the packets as they must be read back.
func writePcap(t testing.TB, ws []want, lt layers.LinkType, nanos bool) ([]byte, []want, layout) {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65536, lt); err != nil {
		t.Fatal(err)
	}
	var l layout
	l.mark(buf.Len(), 0)
	out := make([]want, len(ws))
	for i, p := range ws {
		ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.origLen}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
		l.mark(buf.Len(), i+1)
		out[i] = p
		out[i].linkType = lt
		if !nanos {
			out[i].ts = p.ts.Truncate(time.Microsecond)
		}
	}
	return buf.Bytes(), out, l
}

// swapPcap turns a little-endian pcap file into the same file in big-endian
// byte order, the other magic.
func swapPcap(t testing.TB, le []byte) []byte {
	t.Helper()
	b := bytes.Clone(le)
	swap32 := func(off int) {
		binary.BigEndian.PutUint32(b[off:], binary.LittleEndian.Uint32(b[off:]))
	}
	swap16 := func(off int) {
		binary.BigEndian.PutUint16(b[off:], binary.LittleEndian.Uint16(b[off:]))
	}
	swap32(0)
	swap16(4)
	swap16(6)
	for _, off := range []int{8, 12, 16, 20} {
		swap32(off)
	}
	for off := 24; off < len(b); {
		capLen := int(binary.LittleEndian.Uint32(b[off+8:]))
		for i := 0; i < 4; i++ {
			swap32(off + 4*i)
		}
		off += 16 + capLen
	}
	return b
}

// ngBuilder writes pcapng blocks by hand, in either byte order, so tests can
// have what pcapgo's writer cannot write: timestamp resolutions other than
// nanoseconds, big-endian sections, simple packet blocks, unknown blocks.
type ngBuilder struct {
	buf    bytes.Buffer
	order  byteOrder
	ifaces []ngIface // of the current section
	want   []want
	l      layout
}

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

type ngIface struct {
	lt      layers.LinkType
	tsresol byte // if_tsresol; 0 writes no option (microseconds)
	snap    uint32
}

func (b *ngBuilder) u16(v uint16) { b.buf.Write(b.order.AppendUint16(nil, v)) }
func (b *ngBuilder) u32(v uint32) { b.buf.Write(b.order.AppendUint32(nil, v)) }

// block writes one block: type, total length, body padded to 4, length.
func (b *ngBuilder) block(typ uint32, body []byte) {
	pad := (4 - len(body)%4) % 4
	total := uint32(12 + len(body) + pad)
	b.u32(typ)
	b.u32(total)
	b.buf.Write(body)
	b.buf.Write(make([]byte, pad))
	b.u32(total)
	b.l.mark(b.buf.Len(), len(b.want))
}

// section starts a section in the given byte order.
func (b *ngBuilder) section(order byteOrder) {
	b.order = order
	b.ifaces = nil
	body := order.AppendUint32(nil, 0x1A2B3C4D)
	body = order.AppendUint16(body, 1)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint64(body, ^uint64(0)) // section length unknown
	b.block(0x0A0D0D0A, body)
}

// iface adds an interface to the current section.
func (b *ngBuilder) iface(lt layers.LinkType, tsresol byte, snap uint32) {
	body := b.order.AppendUint16(nil, uint16(lt))
	body = b.order.AppendUint16(body, 0)
	body = b.order.AppendUint32(body, snap)
	if tsresol != 0 {
		body = b.order.AppendUint16(body, 9) // if_tsresol
		body = b.order.AppendUint16(body, 1)
		body = append(body, tsresol, 0, 0, 0)
		body = b.order.AppendUint32(body, 0) // opt_endofopt
	}
	b.ifaces = append(b.ifaces, ngIface{lt: lt, tsresol: tsresol, snap: snap})
	b.block(1, body)
}

// units is the timestamp of t in the units of resolution r, and the time
// it stands for.
func units(t time.Time, r byte) (uint64, time.Time) {
	if r == 0 {
		r = 6
	}
	sec := uint64(t.Unix())
	ns := uint64(t.Nanosecond())
	if r&0x80 != 0 {
		e := r & 0x7f
		frac := ns << e / 1e9
		return sec<<e | frac, time.Unix(int64(sec), int64(frac*1e9>>e)).UTC()
	}
	per := uint64(1)
	for i := byte(0); i < r; i++ {
		per *= 10
	}
	var frac, back uint64
	if per >= 1e9 {
		frac = ns * (per / 1e9)
		back = frac / (per / 1e9)
	} else {
		frac = ns / (1e9 / per)
		back = frac * (1e9 / per)
	}
	return sec*per + frac, time.Unix(int64(sec), int64(back)).UTC()
}

// epb adds an enhanced packet block on interface i.
func (b *ngBuilder) epb(i int, p want, supported bool) {
	u, ts := units(p.ts, b.ifaces[i].tsresol)
	body := b.order.AppendUint32(nil, uint32(i))
	body = b.order.AppendUint32(body, uint32(u>>32))
	body = b.order.AppendUint32(body, uint32(u))
	body = b.order.AppendUint32(body, uint32(len(p.data)))
	body = b.order.AppendUint32(body, uint32(p.origLen))
	body = append(body, p.data...)
	body = append(body, make([]byte, (4-len(p.data)%4)%4)...)
	body = b.order.AppendUint16(body, 1) // opt_comment, so the block has options
	body = b.order.AppendUint16(body, 5)
	body = append(body, "hello"...)
	body = append(body, 0, 0, 0)
	body = b.order.AppendUint32(body, 0)
	if supported {
		p.ts = ts
		p.linkType = b.ifaces[i].lt
		b.want = append(b.want, p)
	}
	b.block(6, body)
}

// spb adds a simple packet block, which belongs to interface 0 and has no
// timestamp.
func (b *ngBuilder) spb(p want) {
	p.origLen = len(p.data) // a simple packet block holds min(original length, snap length)
	capLen := len(p.data)
	if snap := int(b.ifaces[0].snap); snap != 0 && capLen > snap {
		capLen = snap
	}
	p.data = p.data[:capLen]
	body := b.order.AppendUint32(nil, uint32(p.origLen))
	body = append(body, p.data...)
	p.ts = time.Time{}
	p.linkType = b.ifaces[0].lt
	b.want = append(b.want, p)
	b.block(3, body)
}

// isb adds an interface statistics block for interface i.
func (b *ngBuilder) isb(i int, t time.Time) {
	u, _ := units(t, b.ifaces[i].tsresol)
	body := b.order.AppendUint32(nil, uint32(i))
	body = b.order.AppendUint32(body, uint32(u>>32))
	body = b.order.AppendUint32(body, uint32(u))
	body = b.order.AppendUint16(body, 4) // isb_ifrecv
	body = b.order.AppendUint16(body, 8)
	body = b.order.AppendUint64(body, 1234)
	body = b.order.AppendUint32(body, 0)
	b.block(5, body)
}

// nrb adds a name resolution block with one IPv4 record.
func (b *ngBuilder) nrb() {
	body := b.order.AppendUint16(nil, 1) // nrb_record_ipv4
	body = b.order.AppendUint16(body, 4+12)
	body = append(body, 192, 0, 2, 1)
	body = append(body, "example.com\x00"...)
	body = b.order.AppendUint32(body, 0) // nrb_record_end
	b.block(4, body)
}

// dsb adds a decryption secrets block with TLS key log lines, as
// editcap --inject-secrets writes.
func (b *ngBuilder) dsb() {
	secrets := []byte("CLIENT_RANDOM 00112233 44556677\n")
	body := b.order.AppendUint32(nil, 0x544c534b) // TLS key log
	body = b.order.AppendUint32(body, uint32(len(secrets)))
	body = append(body, secrets...)
	body = append(body, make([]byte, (4-len(secrets)%4)%4)...)
	b.block(10, body)
}

// unknown adds a block of a type pcapgo does not know, which must be
// skipped.
func (b *ngBuilder) unknown(typ uint32, body []byte) { b.block(typ, body) }

// mixedPcapng is a file with two sections, the first little-endian and the
// second big-endian, interfaces with different link types and timestamp
// resolutions, an interface with an unsupported link type, a simple packet
// block and unknown blocks. It returns the file, what must be read back, the
// layout, and how many packets must be skipped as unsupported.
func mixedPcapng(seed uint64, n int, maxLen int) ([]byte, []want, layout, int) {
	ps := genPackets(seed, n, maxLen, 0)
	var b ngBuilder
	b.section(binary.LittleEndian)
	b.iface(layers.LinkTypeEthernet, 6, 0)          // microseconds, the default, written out
	b.iface(layers.LinkTypeRaw, 9, 0)               // nanoseconds
	b.unknown(0x00000BAD, []byte("a custom block")) // skipped: pcapgo does not know it
	b.iface(147, 3, 0)                              // USER0, milliseconds: skipped
	b.iface(layers.LinkTypeLinuxSLL2, 0x80|20, 0)   // 2^-20 s
	skipped := 0
	second := n / 2
	for i, p := range ps[:second] {
		switch i % 5 {
		case 3:
			b.epb(2, p, false)
			skipped++
		case 4:
			b.epb(3, p, true)
		default:
			b.epb(i%2, p, true)
		}
		switch i {
		case 0:
			b.nrb()
		case 1:
			b.dsb()
			b.isb(0, p.ts)
		case 2:
			b.unknown(0x80000001, nil) // local use block type, empty body
		}
	}
	b.section(binary.BigEndian)
	b.iface(layers.LinkTypeIPv4, 0, 200)     // no if_tsresol: microseconds; snap 200
	b.iface(layers.LinkTypeIPv6, 0x80|10, 0) // 2^-10 s
	b.iface(layers.LinkTypeNull, 10, 0)      // 10^-10 s: as fine as 64 bits allow today
	for i, p := range ps[second:] {
		switch {
		case i == 0:
			b.spb(p)
		default:
			b.epb(i%3, p, true)
		}
	}
	return b.buf.Bytes(), b.want, b.l, skipped
}

// gz compresses b.
func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile writes b to name in a temporary directory and returns the path.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads src to its end and returns the packets, copied, and the
// error that ended it (nil for io.EOF).
func readAll(t testing.TB, src Source) ([]want, error) {
	t.Helper()
	var got []want
	for i := 0; ; i++ {
		if i > 1e6 {
			t.Fatal("more than a million packets")
		}
		p, err := src.Next()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		if p.CI.CaptureLength != len(p.Data) {
			t.Errorf("packet %d: CaptureLength %d, len(Data) %d", i, p.CI.CaptureLength, len(p.Data))
		}
		if p.CI.AncillaryData != nil {
			t.Errorf("packet %d: AncillaryData %v, want nil", i, p.CI.AncillaryData)
		}
		got = append(got, want{
			data:     bytes.Clone(p.Data),
			ts:       p.CI.Timestamp,
			origLen:  p.CI.Length,
			linkType: p.LinkType,
		})
	}
}

// comparePackets reports the differences between got and the first
// len(got) packets of ws; it fails if there are more or fewer than n.
func comparePackets(t testing.TB, got, ws []want, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("read %d packets, want %d", len(got), n)
	}
	for i := range min(len(got), len(ws)) {
		g, w := got[i], ws[i]
		if !bytes.Equal(g.data, w.data) {
			t.Errorf("packet %d: data differs: got %d bytes, want %d", i, len(g.data), len(w.data))
		}
		if !g.ts.Equal(w.ts) {
			t.Errorf("packet %d: timestamp %v, want %v", i, g.ts, w.ts)
		}
		if g.origLen != w.origLen {
			t.Errorf("packet %d: Length %d, want %d", i, g.origLen, w.origLen)
		}
		if g.linkType != w.linkType {
			t.Errorf("packet %d: link type %d, want %d", i, g.linkType, w.linkType)
		}
	}
}

// asError returns err as an *Error, or fails.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *capture.Error", err, err)
	}
	return e
}
