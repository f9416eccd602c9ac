package flows

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/tlsresume/tlsresume/tlsparse"
	"github.com/tlsresume/tlsresume/verdict"
)

// The TCP transport: gopacket's reassembly puts each direction's bytes in
// order, a tlsparse.Stream per direction frames records and assembles
// handshake messages, and their events go to the connection's handshake
// reader.

// scanLimit bounds the bytes searched, per direction, for the start of
// TLS: a STARTTLS preamble (SMTP, IMAP, POP3, FTP, XMPP, LDAP, PostgreSQL)
// is far shorter; a flow that has sent this much without a hello is not
// TLS.
const scanLimit = 16 << 10

// poolIdle is how long reassembly keeps a connection without packets.
const poolIdle = 10 * time.Second

// maxOpen bounds the connections a worker's reassembly holds. Past it,
// reassembly lets go of every connection that waits for nothing (no
// segment queued out of order); those still being read come back with
// their next segment. Without it a burst of connections faster than
// poolIdle would hold them all.
const maxOpen = 16384

// tcpTransport is a worker's TCP state: its reassembler, shared by the
// worker's connections.
type tcpTransport struct {
	w    *worker
	dec  *decoder   // for the packets whose header the front could not bound
	seg  layers.TCP // the segment decode read
	syn  layers.TCP // a SYN made to hand a connection over to reassembly
	cur  *layers.TCP
	pool *reassembly.StreamPool
	asm  *reassembly.Assembler
	open int   // connections reassembly holds
	conn *conn // the connection of the segment being assembled
	ctx  asmContext
}

// asmContext is the packet being assembled, for reassembly's callbacks.
type asmContext struct {
	ci    gopacket.CaptureInfo
	frame uint64
}

func (c *asmContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

func newTCPTransport(w *worker) *tcpTransport {
	t := &tcpTransport{w: w, dec: newDecoder()}
	t.pool = reassembly.NewStreamPool(t)
	t.asm = reassembly.NewAssembler(t.pool)
	t.asm.MaxBufferedPagesPerConnection = w.cfg.MaxBufferedPagesPerConn
	t.asm.MaxBufferedPagesTotal = w.cfg.MaxBufferedPages / w.cfg.Workers
	return t
}

// tcpWait is a connection's TCP state until a segment carries data: only
// its SYNs, replayed to reassembly with the first data, so that a SYN
// flood or a port scan allocates no reassembly state.
type tcpWait struct {
	syns [2]savedSYN // the first SYN of each direction: from the first sender, then from its peer
}

func (*tcpWait) unjudged(*Counters) {}
func (*tcpWait) release()           {}

// savedSYN is a SYN kept until its flow carries data: the packet, and
// what of its item the replay needs.
type savedSYN struct {
	data         []byte // nil: none seen
	ts           time.Time
	frame        uint64
	lt           layers.LinkType
	l4Off, l4End int32
	sp           uint16
	src          [16]byte
}

// decode reads the TCP header: from the bounds the front found, or, when
// it found none, by decoding the whole packet as gopacket does.
func (t *tcpTransport) decode(it *item, data []byte) bool {
	if it.hdr.l4End > 0 {
		if t.seg.DecodeFromBytes(data[it.hdr.l4Off:it.hdr.l4End], gopacket.NilDecodeFeedback) != nil {
			return false
		}
		t.cur = &t.seg
		return true
	}
	res, _ := t.dec.decode(it.lt, data)
	t.cur = &t.dec.tcp
	return res == decodedTCP
}

func (t *tcpTransport) packet(c *conn, it *item, data []byte) {
	if c.state == stateWaiting {
		seg := t.cur
		wait, _ := c.stream.(*tcpWait)
		if len(seg.Payload) == 0 {
			// The first SYN of each direction, as reassembly would have
			// anchored the direction on it.
			fromSrc := uint16(seg.SrcPort) == c.sp
			if seg.SYN {
				if wait == nil {
					wait = &tcpWait{}
					c.stream = wait
				}
				i := 0
				if !fromSrc {
					i = 1
				}
				if sy := &wait.syns[i]; sy.data == nil {
					*sy = savedSYN{data: slices.Clone(data), ts: it.ci.Timestamp, frame: it.frame, lt: it.lt,
						l4Off: int32(it.hdr.l4Off), l4End: int32(it.hdr.l4End), sp: it.hdr.sp, src: it.hdr.src}
				}
			}
			return
		}
		src, dst := c.endpoints()
		s := &tcpConn{c: c, fast: true, netFlow: gopacket.NewFlow(gopacket.EndpointType(1<<40+c.fe.gen), src.IP.AsSlice(), dst.IP.AsSlice())}
		s.halves[0].stream.Msgs.Max = t.w.cfg.MaxMessage
		s.halves[1].stream.Msgs.Max = t.w.cfg.MaxMessage
		t.w.read(c, s, verdict.TCP)
		if wait != nil {
			// In the order they were seen: the first sender's SYN comes
			// first (it is the flow's first packet when both were seen).
			for _, sy := range wait.syns {
				if sy.data == nil {
					continue
				}
				syIt := item{lt: sy.lt, hdr: header{src: sy.src, sp: sy.sp, l4Off: int(sy.l4Off), l4End: int(sy.l4End)}}
				if t.decode(&syIt, sy.data) {
					t.segment(c, gopacket.CaptureInfo{Timestamp: sy.ts, CaptureLength: len(sy.data), Length: len(sy.data)}, sy.frame, &syIt.hdr)
				}
			}
			if !t.decode(it, data) {
				return
			}
		}
	}
	t.segment(c, it.ci, it.frame, &it.hdr)
}

// segment takes the segment decode read, for connection c: straight to
// the TLS reader when it is the next one of its direction (the fast
// path), to gopacket's reassembly otherwise. A connection starts on the
// fast path and leaves it for good at its first segment that is out of
// order, overlapping, retransmitted, or from a direction whose SYN was
// not seen: reassembly then takes over from where the fast path got, and
// from there on sees every segment, so the bytes the reader gets, and
// when, are the same either way.
func (t *tcpTransport) segment(c *conn, ci gopacket.CaptureInfo, frame uint64, h *header) {
	s := c.stream.(*tcpConn)
	if !s.fast {
		t.assemble(c, ci, frame, h)
		return
	}
	seg := t.cur
	d := 1
	if h.sp == c.sp && h.src == c.src16 {
		d = 0
	}
	bare := len(seg.Payload) == 0 && !seg.FIN && !seg.RST
	switch {
	case seg.SYN:
		if !bare {
			break // a SYN with data or flags: reassembly's business
		}
		if !s.known[d] {
			s.known[d], s.next[d] = true, seg.Seq+1
			return
		}
		if seg.Seq+1 == s.next[d] {
			return // the same SYN again: dropped on a synchronized half
		}
	case bare:
		// An ACK moves no stream; one on a direction that has not
		// started does not start it.
		return
	case s.known[d] && seg.Seq == s.next[d]:
		if seg.FIN || seg.RST {
			s.closing = true
		}
		if n := len(seg.Payload); n > 0 {
			s.halves[d].sawData = true
			s.c.hs.frame = frame
			s.data(d, seg.Payload, ci.Timestamp)
			if !s.reading() {
				return
			}
			s.next[d] += uint32(n)
		}
		if seg.FIN || seg.RST {
			if seg.FIN {
				s.next[d]++
			}
			// As reassembly closes a half at its FIN or RST, and the
			// connection when both are closed.
			s.ended[d] = true
			if s.ended[1-d] {
				s.c.finish()
			}
		}
		return
	}
	t.handOver(c, s, ci, frame)
	t.assemble(c, ci, frame, h)
}

// handOver moves a connection from the fast path to reassembly: each
// direction whose SYN was seen is started there at the sequence number
// the fast path reached, by a SYN made for it.
func (t *tcpTransport) handOver(c *conn, s *tcpConn, ci gopacket.CaptureInfo, frame uint64) {
	s.fast = false
	cur := t.cur
	for d := range 2 {
		if !s.known[d] {
			continue
		}
		sp, dp := c.sp, c.dp
		src := c.src16
		flags := byte(tcpSYN)
		if d == 1 {
			sp, dp, src, flags = dp, sp, c.dst16, tcpSYN|tcpACK
		}
		var b [20]byte
		b[0], b[1], b[2], b[3] = byte(sp>>8), byte(sp), byte(dp>>8), byte(dp)
		seq := s.next[d] - 1
		b[4], b[5], b[6], b[7] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
		b[12], b[13], b[14], b[15] = 5<<4, flags, 0xff, 0xff
		if t.syn.DecodeFromBytes(b[:], gopacket.NilDecodeFeedback) != nil {
			continue
		}
		t.cur = &t.syn
		t.assemble(c, ci, frame, &header{src: src, sp: sp})
	}
	t.cur = cur
}

// assemble hands the segment decode read to reassembly as part of c.
func (t *tcpTransport) assemble(c *conn, ci gopacket.CaptureInfo, frame uint64, h *header) {
	s := c.stream.(*tcpConn)
	// The network flow of this packet, with the connection's unique type,
	// so that a reused 4-tuple is a new reassembly connection.
	nf := s.netFlow
	if h.sp != c.sp || h.src != c.src16 {
		nf = nf.Reverse()
	}
	t.conn = c
	t.ctx.ci, t.ctx.frame = ci, frame
	t.asm.AssembleWithContext(nf, t.cur, &t.ctx)
	t.conn = nil
}

// New implements reassembly.StreamFactory: the stream is the connection
// being assembled.
func (t *tcpTransport) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	s := t.conn.stream.(*tcpConn)
	s.ref = &streamRef{s: s, t: t}
	t.open++
	return s.ref
}

func (t *tcpTransport) tick() {
	now := t.w.now
	// Reassembly lets go of connections idle for poolIdle: finished ones
	// are not fed any more, and those still being read come back when
	// their next segment does (streamRef.ReassemblyComplete keeps them).
	t.asm.FlushWithOptions(reassembly.FlushOptions{T: now.Add(-t.w.cfg.GapTimeout), TC: now.Add(-poolIdle)})
	// The same for connections on the fast path: one that saw a FIN or
	// RST and has been idle as long ends, as reassembly would end it.
	for _, c := range t.w.sortedActive() {
		if s, ok := c.stream.(*tcpConn); ok && s.fast && s.closing && now.Sub(c.last) > poolIdle {
			c.finish()
		}
	}
}

// trim lets reassembly go of idle connections when it holds too many.
func (t *tcpTransport) trim() {
	if t.open <= maxOpen {
		return
	}
	t.asm.FlushWithOptions(reassembly.FlushOptions{T: t.w.now.Add(-t.w.cfg.GapTimeout), TC: t.w.now})
}

func (t *tcpTransport) flush() { t.asm.FlushAll() }

// half is one direction of a TCP connection as reassembly delivers it.
type half struct {
	stream  tlsparse.Stream
	found   bool   // the start of TLS was located
	resync  bool   // after a gap: look for any plausible record header
	pre     []byte // bytes searched so far for the start, bounded by scanLimit
	next    int    // where in pre the search goes on
	scanned int
	failed  bool // unreadable: gave up on this direction
	sawData bool
	mid     bool // the half started without a SYN
}

// tcpConn is the TCP state of one connection while its handshake is read.
// Reassembly reaches it through a streamRef.
type tcpConn struct {
	c       *conn
	ref     *streamRef
	netFlow gopacket.Flow
	halves  [2]half // indexed by reassembly direction
	closing bool    // a FIN or RST was seen

	// The fast path (segment): while fast, reassembly has not seen the
	// connection; next is the sequence number each direction expects
	// once known (its SYN seen), ended its FIN or RST read.
	fast         bool
	known, ended [2]bool
	next         [2]uint32
}

// streamRef is what reassembly holds for a connection: reassembly keeps a
// stream until it has been idle for a while, and through streamRef a
// finished connection is freed at once.
type streamRef struct {
	s *tcpConn
	t *tcpTransport
	// flip is set when this reassembly connection's first packet came
	// from the flow's second sender: a connection reassembly let go of
	// (idle) and made anew sees its directions from its own first packet.
	flip, set bool
}

func (r *streamRef) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	if r.s == nil {
		return false
	}
	if !r.set {
		fromSrc := uint16(tcp.SrcPort) == r.s.c.sp
		r.flip, r.set = (dir == reassembly.TCPDirClientToServer) != fromSrc, true
	}
	if r.flip {
		dir = dir.Reverse()
	}
	return r.s.accept(tcp, dir, nextSeq, start)
}

func (r *streamRef) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	if r.s != nil {
		r.s.reassembled(sg, ac, r.flip)
	}
}

func (r *streamRef) ReassemblyComplete(ac reassembly.AssemblerContext) bool {
	if s := r.s; s != nil && (s.closing || r.t.w.closing) {
		s.c.finish()
	}
	// Reassembly lets go of a connection that was idle for a while, or
	// ended; one still being read comes back with its next segment.
	r.s = nil
	r.t.open--
	return true
}

func dirIndex(d reassembly.TCPFlowDirection) int {
	if d == reassembly.TCPDirServerToClient {
		return 1
	}
	return 0
}

// reading reports whether the connection's handshake is still being read.
func (s *tcpConn) reading() bool { return s.c.state == stateReading }

// accept is reassembly's Accept, through streamRef. A direction whose SYN
// was not captured starts at its first segment, and is read from the first
// plausible record header on.
func (s *tcpConn) accept(tcp *layers.TCP, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool) bool {
	if !s.reading() {
		return false
	}
	if nextSeq == -1 && !tcp.SYN && len(tcp.Payload) == 0 {
		// A stray ACK or RST must not anchor a direction that has not
		// started: only a SYN or data does.
		return false
	}
	if tcp.FIN || tcp.RST {
		s.closing = true
	}
	if !*start && nextSeq == -1 && !tcp.SYN {
		*start = true
		s.halves[dirIndex(dir)].mid = true
	}
	return true
}

// reassembled takes reassembled bytes; flip says the reassembly
// connection's directions are the flow's reversed.
func (s *tcpConn) reassembled(sg reassembly.ScatterGather, ac reassembly.AssemblerContext, flip bool) {
	if !s.reading() {
		return
	}
	dir, _, _, skip := sg.Info()
	if flip {
		dir = dir.Reverse()
	}
	n, _ := sg.Lengths()
	if n == 0 {
		return
	}
	d := dirIndex(dir)
	h := &s.halves[d]
	if skip != 0 && (h.sawData || !h.mid) {
		// Bytes were lost: in the middle, or at the start of a direction
		// whose SYN was seen (its first byte is known).
		s.gap(d)
	}
	h.sawData = true
	if c, ok := ac.(*asmContext); ok {
		s.c.hs.frame = c.frame
	}
	s.data(d, sg.Fetch(n), ac.GetCaptureInfo().Timestamp)
}

// gap records lost bytes in direction d: the stream loses its record
// boundaries and is resynchronised at the next plausible record header.
func (s *tcpConn) gap(d int) {
	h := &s.halves[d]
	s.c.hs.lost(d)
	h.resync = true
	if h.found {
		h.found = false
		h.stream.Records.Reset()
		h.stream.Msgs.Reset()
		h.pre, h.scanned, h.next = h.pre[:0], 0, 0
	}
}

// data takes reassembled bytes of direction d.
func (s *tcpConn) data(d int, b []byte, ts time.Time) {
	h := &s.halves[d]
	if h.failed {
		return
	}
	if !h.found {
		b = s.locate(d, b)
		if b == nil {
			return
		}
		if s.c.hs.chTS.IsZero() {
			s.c.hs.chTS = ts
		}
	}
	h.stream.Write(b)
	s.drain(d)
}

// locate finds where TLS starts in direction d: at the first byte in the
// common case, after a plaintext preamble for STARTTLS, or, after a gap or
// without a SYN, at the first plausible record header. It returns the
// bytes from that point, or nil while still searching.
func (s *tcpConn) locate(d int, b []byte) []byte {
	h := &s.halves[d]
	if len(h.pre) == 0 && h.scanned == 0 && startsTLS(b, h.resync) {
		h.found = true
		return b
	}
	room := scanLimit - len(h.pre)
	if len(b) > room {
		b = b[:room]
	}
	h.pre = append(h.pre, b...)
	h.scanned += len(b)
	// Bytes before h.next were tried by an earlier call and cannot start
	// TLS whatever follows; j caches the next plausible record header at or
	// after from (len(h.pre): none), so that every byte is looked at a
	// bounded number of times.
	from, j := h.next, -1
	for {
		i := bytes.IndexByte(h.pre[from:], byte(tlsparse.RecordHandshake))
		if h.resync || h.mid {
			// Any record type may be where the stream picks up again.
			if j < from {
				j = len(h.pre)
				if r := indexRecordStart(h.pre[from:]); r >= 0 {
					j = from + r
				}
			}
			if j < len(h.pre) && (i < 0 || j < from+i) {
				i = j - from
			}
		}
		if i < 0 {
			// A header may still start in the last four bytes.
			h.next = max(from, len(h.pre)-tlsparse.RecordHeaderLen+1)
			break
		}
		k := from + i
		if startsTLS(h.pre[k:], h.resync || h.mid) {
			h.found = true
			if k > 0 && !h.resync && !h.mid {
				s.c.hs.note(verdict.NotePlaintextPreamble)
				s.c.w.count.PlaintextPreamble++
			}
			if h.mid {
				s.c.hs.note(verdict.NoteMidstream)
			}
			out := h.pre[k:]
			h.pre, h.next = nil, 0
			return out
		}
		if len(h.pre)-k < 6 {
			// Maybe a header cut by the segment boundary: wait for more.
			h.next = k
			break
		}
		from = k + 1
	}
	if len(h.pre) >= scanLimit {
		h.failed = true
		h.pre = nil
		s.directionFailed(d)
	}
	return nil
}

// indexRecordStart finds the first byte that could start a record header
// (used only while resynchronising).
func indexRecordStart(b []byte) int {
	for i := 0; i+5 <= len(b); i++ {
		if tlsparse.PlausibleRecordHeader(b[i:]) {
			return i
		}
	}
	return -1
}

// startsTLS reports whether b starts with a handshake record that holds a
// ClientHello or ServerHello (or an SSLv2-compatible hello); with any set,
// a plausible record header of any type is enough, and its successor, when
// buffered, must be plausible too.
func startsTLS(b []byte, any bool) bool {
	if tlsparse.LooksLikeSSLv2Hello(b) && !any {
		return true
	}
	if !tlsparse.PlausibleRecordHeader(b) {
		return false
	}
	if any {
		n := tlsparse.RecordHeaderLen + (int(b[3])<<8 | int(b[4]))
		if len(b) >= n+tlsparse.RecordHeaderLen && !tlsparse.PlausibleRecordHeader(b[n:]) {
			return false
		}
		return true
	}
	if len(b) < 6 || b[0] != byte(tlsparse.RecordHandshake) {
		return false
	}
	// RFC 8446, Section 4: the first handshake message of each side.
	return b[5] == byte(tlsparse.TypeClientHello) || b[5] == byte(tlsparse.TypeServerHello)
}

// directionFailed is called when direction d has been searched to the
// limit without finding TLS, or became unreadable. The connection goes on
// while the other direction can still give the verdict.
func (s *tcpConn) directionFailed(d int) {
	hs := s.c.hs
	other := &s.halves[1-d]
	switch {
	case other.failed:
		if !hs.hasHello() {
			s.c.w.count.NotTLS++
			s.c.abandon()
			return
		}
		s.c.finish()
	case !s.halves[d].found && !other.found && hs.ch == nil && hs.sh == nil:
		// Searched to the limit, and the other side has shown no TLS
		// either: not TLS.
		s.c.w.count.NotTLS++
		s.c.abandon()
	case hs.isServer(d) && hs.ch != nil:
		// The server's direction holds the evidence, and no more of it
		// can be read.
		s.c.finish()
	}
}

// drain reads every complete event of direction d.
func (s *tcpConn) drain(d int) {
	h := &s.halves[d]
	for s.reading() {
		ev, err := h.stream.Next()
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return
			}
			s.streamError(d, err)
			return
		}
		if s.c.hs.event(d, ev) {
			h.stream.Encrypted = true
		}
	}
}

func (s *tcpConn) streamError(d int, err error) {
	h := &s.halves[d]
	h.failed = true
	switch {
	case errors.Is(err, tlsparse.ErrTooLarge):
		s.c.w.count.Oversized++
		s.c.hs.note(verdict.NoteOversized)
	default:
		s.c.w.count.MalformedRecord++
		s.c.hs.note(verdict.NoteMalformedRecord)
	}
	s.directionFailed(d)
}

// unjudged counts why a connection without a hello gave nothing.
func (s *tcpConn) unjudged(count *Counters) {
	if s.halves[0].found || s.halves[1].found {
		count.NoHello++
	} else if s.halves[0].sawData || s.halves[1].sawData {
		count.NotTLS++
	}
}

// release drops the buffers of a finished connection: reassembly keeps the
// connection itself until it has been idle for a while.
func (s *tcpConn) release() {
	if s.ref != nil {
		s.ref.s = nil
	}
	s.halves = [2]half{}
}
