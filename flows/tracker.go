package flows

import (
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// Counters say what happened to the input: every packet, flow and
// connection that gave nothing has a counter saying why. The names are
// part of the output contract.
type Counters struct {
	Packets           uint64 `json:"packets"`
	Bytes             uint64 `json:"bytes"`
	TCPPackets        uint64 `json:"tcp_packets"`
	UDPPackets        uint64 `json:"udp_packets"`
	OtherPackets      uint64 `json:"other_packets"`
	DecodeErrors      uint64 `json:"decode_errors"`
	UnsupportedLink   uint64 `json:"unsupported_link_type"`
	Truncated         uint64 `json:"snaplen_truncated"`
	TCPFlows          uint64 `json:"tcp_flows"`
	PacketsSkipped    uint64 `json:"packets_after_handshake"`
	NotTLS            uint64 `json:"flows_not_tls"`
	NoHello           uint64 `json:"flows_without_hello"`
	PlaintextPreamble uint64 `json:"plaintext_preamble"`
	StreamGap         uint64 `json:"stream_gap"`
	MalformedRecord   uint64 `json:"record_malformed"`
	Oversized         uint64 `json:"record_or_message_oversized"`
	MalformedHello    uint64 `json:"hello_malformed"`
	MalformedTicket   uint64 `json:"ticket_malformed"`
	FlowsEvicted      uint64 `json:"flows_evicted"`
}

// Config sets a Tracker's behaviour. Zero values take the defaults.
type Config struct {
	// Emit receives each connection's verdict when it is known.
	Emit func(*Conn)
	// EmitSession receives each session that ended by SessionTimeout
	// before the end of the input.
	EmitSession func(*Session)
	// SessionTimeout ends a session unused for this long, or for its
	// ticket lifetime hint when that is longer. Default 1h.
	SessionTimeout time.Duration
	// GapTimeout is how long (capture time) reassembly waits for a
	// missing segment before skipping it. Default 2s.
	GapTimeout time.Duration
	// IdleTimeout ends a flow whose handshake is still being read when it
	// has had no packets for this long. Default 60s.
	IdleTimeout time.Duration
	// FinishedTimeout forgets a flow whose handshake was read (or that is
	// not TLS) after this long without packets; until then its packets
	// are dropped before reassembly and it keeps its id. Default 10m.
	FinishedTimeout time.Duration
	// MaxFlows bounds tracked flows; the oldest are evicted first.
	// Default 200000.
	MaxFlows int
	// MaxSessions bounds the sessions kept; the oldest end first.
	// Default 500000.
	MaxSessions int
	// MaxBufferedPages bounds the out-of-order segments reassembly keeps
	// (pages of about 1900 bytes) per connection and in total. Past the
	// bound the oldest are delivered as if a gap had been skipped.
	// Default 64 per connection, 32768 in total.
	MaxBufferedPagesPerConn, MaxBufferedPages int
}

// flowKey is a TCP connection's 4-tuple, ordered so that both directions
// map to the same key.
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
}

type flowState uint8

const (
	flowActive   flowState = iota // reading the handshake
	flowFinished                  // verdict known or not TLS: packets are dropped
)

// flowEntry is the flow map's entry for one TCP connection.
type flowEntry struct {
	state   flowState
	conn    *tlsConn
	netFlow gopacket.Flow // unique per entry, so a reused 4-tuple is a new reassembly connection
	gen     int64
	src     netip.AddrPort
	dst     netip.AddrPort
	last    time.Time
	closing bool // FIN or RST seen
	id      int
	hasSYN  bool   // the client's SYN was seen
	synSeq  uint32 // its sequence number
}

func (e *flowEntry) addrs() (Endpoint, Endpoint) {
	return Endpoint{e.src.Addr(), e.src.Port()}, Endpoint{e.dst.Addr(), e.dst.Port()}
}

// Tracker follows TCP connections and reads their TLS handshakes. A flow
// map in front of the assembler drops the packets of every connection
// whose handshake is over (or that is not TLS) before reassembly.
// A Tracker is not safe for concurrent use.
type Tracker struct {
	cfg      Config
	sessions *Sessions
	dec      *decoder
	pool     *reassembly.StreamPool
	asm      *reassembly.Assembler
	flows    map[flowKey]*flowEntry
	active   map[*flowEntry]struct{} // flows whose handshake is being read
	order    []orderEntry            // flows in order of creation, for eviction; stale entries are skipped
	count    Counters
	nextID   int
	gen      int64
	cur      *flowEntry
	ctx      asmContext
	now      time.Time
	lastTick time.Time
	ticks    int
}

// tickInterval is how often (capture time) reassembly skips over lost
// segments and idle flows and sessions end. Each tick walks every flow,
// so it is not done per packet.
const tickInterval = 5 * time.Second

// slowTicks: every slowTicks ticks, finished flows and idle sessions are
// swept (they are many, and their timeouts are long).
const slowTicks = 12

// orderEntry names a flow in the eviction order; gen tells a stale entry
// (the flow was since removed or replaced) from a live one.
type orderEntry struct {
	key flowKey
	gen int64
}

type asmContext struct{ ci gopacket.CaptureInfo }

func (c *asmContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

// NewTracker returns a Tracker that joins verdicts into sessions.
func NewTracker(cfg Config, sessions *Sessions) *Tracker {
	if cfg.GapTimeout <= 0 {
		cfg.GapTimeout = 2 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = time.Hour
	}
	if cfg.FinishedTimeout <= 0 {
		cfg.FinishedTimeout = 10 * time.Minute
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = 200000
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 500000
	}
	if cfg.MaxBufferedPagesPerConn <= 0 {
		cfg.MaxBufferedPagesPerConn = 64
	}
	if cfg.MaxBufferedPages <= 0 {
		cfg.MaxBufferedPages = 32768
	}
	t := &Tracker{cfg: cfg, sessions: sessions, dec: newDecoder(), flows: map[flowKey]*flowEntry{}, active: map[*flowEntry]struct{}{}}
	t.pool = reassembly.NewStreamPool(t)
	t.asm = reassembly.NewAssembler(t.pool)
	t.asm.MaxBufferedPagesPerConnection = cfg.MaxBufferedPagesPerConn
	t.asm.MaxBufferedPagesTotal = cfg.MaxBufferedPages
	return t
}

// New implements reassembly.StreamFactory: the stream is the connection the
// flow map made for the packet being assembled.
func (t *Tracker) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	return t.cur.conn
}

// Counters returns the counters so far.
func (t *Tracker) Counters() Counters { return t.count }

// Packet takes one captured packet. data is not kept after the call.
func (t *Tracker) Packet(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) {
	t.count.Packets++
	t.count.Bytes += uint64(ci.CaptureLength)
	if ci.CaptureLength < ci.Length {
		t.count.Truncated++
	}
	if ci.Timestamp.After(t.now) {
		t.now = ci.Timestamp
	}
	if t.skipFinished(lt, data, ci) {
		return
	}
	res, v6 := t.dec.decode(lt, data)
	switch res {
	case decodedTCP:
		t.count.TCPPackets++
		t.tcp(ci, v6)
	case decodedUDP:
		t.count.UDPPackets++
	case decodedOther:
		t.count.OtherPackets++
	case decodedError:
		t.count.DecodeErrors++
	case decodedUnsupported:
		t.count.UnsupportedLink++
	}
	if t.now.Sub(t.lastTick) >= tickInterval {
		t.tick()
	}
}

func (t *Tracker) tcp(ci gopacket.CaptureInfo, v6 bool) {
	tcp := &t.dec.tcp
	var src, dst netip.Addr
	if v6 {
		src, _ = netip.AddrFromSlice(t.dec.ip6.SrcIP)
		dst, _ = netip.AddrFromSlice(t.dec.ip6.DstIP)
	} else {
		src, _ = netip.AddrFromSlice(t.dec.ip4.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(t.dec.ip4.DstIP.To4())
	}
	sp, dp := uint16(tcp.SrcPort), uint16(tcp.DstPort)
	key := makeKey(src.As16(), dst.As16(), sp, dp)
	e := t.flows[key]
	id := 0 // the id of a restarted connection
	if e != nil && tcp.SYN && !tcp.ACK && e.closing {
		// A SYN after FIN or RST starts a new connection on the same
		// 4-tuple (port reuse). With the ISN of the flow's first SYN it is
		// the same connection tried again: it keeps its id, as in tshark.
		if e.hasSYN && e.synSeq == tcp.Seq {
			id = e.id
		}
		if e.conn != nil {
			e.conn.finish()
		}
		e = nil
	}
	if e != nil && e.state == flowFinished {
		e.last = ci.Timestamp
		if tcp.FIN || tcp.RST {
			e.closing = true
		}
		t.count.PacketsSkipped++
		return
	}
	if e == nil {
		// Every TCP 4-tuple gets a number, pure ACKs included, so that
		// ids follow tshark's tcp.stream.
		if len(t.flows) >= t.cfg.MaxFlows {
			t.evictOldest()
		}
		t.gen++
		if id == 0 {
			t.nextID++
			t.count.TCPFlows++
			id = t.nextID
		}
		e = &flowEntry{
			src: netip.AddrPortFrom(src, sp), dst: netip.AddrPortFrom(dst, dp), gen: t.gen, id: id,
			netFlow: gopacket.NewFlow(gopacket.EndpointType(1<<40+t.gen), src.AsSlice(), dst.AsSlice()),
		}
		if tcp.SYN && !tcp.ACK {
			e.hasSYN, e.synSeq = true, tcp.Seq
		}
		e.conn = newTLSConn(t, e, id, ci.Timestamp)
		t.flows[key] = e
		t.active[e] = struct{}{}
		t.order = append(t.order, orderEntry{key, t.gen})
	}
	e.last = ci.Timestamp
	if tcp.FIN || tcp.RST {
		e.closing = true
	}
	// The network flow of this packet, with the entry's unique type.
	nf := e.netFlow
	if netip.AddrPortFrom(src, sp) != e.src {
		nf = nf.Reverse()
	}
	t.cur = e
	t.ctx.ci = ci
	t.asm.AssembleWithContext(nf, tcp, &t.ctx)
	t.cur = nil
}

// makeKey orders the two endpoints so that both directions have one key.
func makeKey(a, b [16]byte, pa, pb uint16) flowKey {
	if string(a[:]) > string(b[:]) || (a == b && pa > pb) {
		return flowKey{a: b, b: a, pa: pb, pb: pa}
	}
	return flowKey{a: a, b: b, pa: pa, pb: pb}
}

// skipFinished is the fast path for the packets of connections whose
// handshake has been read: it finds the flow from the fixed header offsets
// of plain Ethernet (or raw IP), IPv4 or IPv6 and TCP, without the layer
// decoders, and drops the packet when its flow is finished. Anything else
// (other encapsulations, IP options that move the TCP header are fine,
// fragments, IPv6 extension headers, SYNs that may start a new connection)
// goes the full way.
func (t *Tracker) skipFinished(lt layers.LinkType, data []byte, ci gopacket.CaptureInfo) bool {
	if len(t.flows) == 0 {
		return false
	}
	off := 0
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return false
		}
		et := uint16(data[12])<<8 | uint16(data[13])
		off = 14
		if et == 0x8100 && len(data) >= 18 { // one 802.1Q tag
			et, off = uint16(data[16])<<8|uint16(data[17]), 18
		}
		if et != 0x0800 && et != 0x86dd {
			return false
		}
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
	default:
		return false
	}
	ip := data[off:]
	var a, b [16]byte
	var tcp []byte
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4:
		ihl := int(ip[0]&0x0f) * 4
		// RFC 791: protocol 6, not a fragment.
		if ip[9] != 6 || ihl < 20 || len(ip) < ihl+20 || (ip[6]&0x3f) != 0 || ip[7] != 0 {
			return false
		}
		a[10], a[11], b[10], b[11] = 0xff, 0xff, 0xff, 0xff
		copy(a[12:], ip[12:16])
		copy(b[12:], ip[16:20])
		tcp = ip[ihl:]
	case len(ip) >= 60 && ip[0]>>4 == 6:
		// RFC 8200: next header TCP directly, no extension headers.
		if ip[6] != 6 {
			return false
		}
		copy(a[:], ip[8:24])
		copy(b[:], ip[24:40])
		tcp = ip[40:]
	default:
		return false
	}
	flags := tcp[13]
	const fin, syn, rst, ack = 0x01, 0x02, 0x04, 0x10
	if flags&syn != 0 {
		return false
	}
	key := makeKey(a, b, uint16(tcp[0])<<8|uint16(tcp[1]), uint16(tcp[2])<<8|uint16(tcp[3]))
	e := t.flows[key]
	if e == nil || e.state != flowFinished {
		return false
	}
	t.count.TCPPackets++
	t.count.PacketsSkipped++
	e.last = ci.Timestamp
	if flags&(fin|rst) != 0 {
		e.closing = true
	}
	if t.now.Sub(t.lastTick) >= tickInterval {
		t.tick()
	}
	return true
}

// connDone is called once per connection when its handshake is read (c
// non-nil) or it turned out not to be TLS.
func (t *Tracker) connDone(c *tlsConn, out *Conn) {
	e := c.flow
	e.state = flowFinished
	e.conn = nil
	delete(t.active, e)
	if out == nil {
		return
	}
	out.obs.doneTS = t.now
	t.sessions.Join(out)
	if t.cfg.Emit != nil {
		t.cfg.Emit(out)
	}
}

// tick runs every tickInterval of capture time: it skips over segments
// lost for longer than GapTimeout and ends flows idle for IdleTimeout;
// every slowTicks ticks it also forgets finished flows and ends idle
// sessions.
func (t *Tracker) tick() {
	t.lastTick = t.now
	t.ticks++
	t.asm.FlushWithOptions(reassembly.FlushOptions{T: t.now.Add(-t.cfg.GapTimeout), TC: t.now.Add(-t.cfg.IdleTimeout)})
	for e := range t.active {
		if t.now.Sub(e.last) > t.cfg.IdleTimeout {
			e.conn.finish()
		}
	}
	if t.ticks%slowTicks != 0 {
		return
	}
	// Once a minute: forget finished flows, end idle sessions.
	for k, e := range t.flows {
		if e.state == flowFinished && t.now.Sub(e.last) > t.cfg.FinishedTimeout {
			delete(t.flows, k)
		}
	}
	t.compactOrder()
	for _, s := range t.sessions.Expire(t.now, t.cfg.SessionTimeout, t.cfg.MaxSessions) {
		if t.cfg.EmitSession != nil {
			t.cfg.EmitSession(s)
		}
	}
}

// evictOldest drops the oldest flow still tracked.
func (t *Tracker) evictOldest() {
	for len(t.order) > 0 {
		o := t.order[0]
		t.order = t.order[1:]
		e := t.flows[o.key]
		if e == nil || e.gen != o.gen {
			continue
		}
		if e.conn != nil {
			e.conn.finish()
		}
		delete(t.flows, o.key)
		t.count.FlowsEvicted++
		return
	}
}

// compactOrder drops stale entries from the eviction order so that it
// stays proportional to the flows tracked.
func (t *Tracker) compactOrder() {
	if len(t.order) < 2*len(t.flows)+1024 {
		return
	}
	live := make([]orderEntry, 0, len(t.flows)+1024)
	for _, o := range t.order {
		if e := t.flows[o.key]; e != nil && e.gen == o.gen {
			live = append(live, o)
		}
	}
	t.order = live
}

// Tick advances the clock without a packet: in live capture, flows and
// sessions expire by the wall clock even when no packet arrives.
func (t *Tracker) Tick(now time.Time) {
	if now.After(t.now) {
		t.now = now
	}
	if t.now.Sub(t.lastTick) >= tickInterval {
		t.tick()
	}
}

// Close ends the input: every buffered segment is flushed and every
// connection still open gets its verdict.
func (t *Tracker) Close() {
	t.asm.FlushAll()
	for _, e := range t.flows {
		if e.conn != nil {
			e.conn.finish()
		}
	}
	t.flows = map[flowKey]*flowEntry{}
	t.order = nil
}
