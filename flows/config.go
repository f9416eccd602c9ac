package flows

import (
	"net/netip"
	"time"
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
	// Default 100000.
	MaxFlows int
	// MaxSessions bounds the sessions kept; the oldest end first.
	// Default 50000.
	MaxSessions int
	// MaxBufferedPages bounds the out-of-order segments reassembly keeps
	// (pages of about 1900 bytes) per connection and in total. Past the
	// bound the oldest are delivered as if a gap had been skipped.
	// Default 64 per connection, 32768 in total.
	MaxBufferedPagesPerConn, MaxBufferedPages int
	// MaxMessage bounds a ClientHello, ServerHello or NewSessionTicket
	// (the messages kept whole to be parsed); a connection that announces
	// a larger one is given up (record_or_message_oversized). Real ones
	// are a few KiB. Default 16 KiB.
	MaxMessage int
	// Workers is how many goroutines reassemble and read handshakes;
	// flows are sharded among them by a symmetric hash of their
	// addresses. The output does not depend on it. Default 1.
	Workers int
}

func (c *Config) defaults() {
	if c.GapTimeout <= 0 {
		c.GapTimeout = 2 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = time.Hour
	}
	if c.FinishedTimeout <= 0 {
		c.FinishedTimeout = 10 * time.Minute
	}
	if c.MaxFlows <= 0 {
		c.MaxFlows = 100000
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 50000
	}
	if c.MaxBufferedPagesPerConn <= 0 {
		c.MaxBufferedPagesPerConn = 64
	}
	if c.MaxBufferedPages <= 0 {
		c.MaxBufferedPages = 32768
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = 16 << 10
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
}

// add sums counters from the front and the workers.
func (c *Counters) add(o Counters) {
	c.Packets += o.Packets
	c.Bytes += o.Bytes
	c.TCPPackets += o.TCPPackets
	c.UDPPackets += o.UDPPackets
	c.OtherPackets += o.OtherPackets
	c.DecodeErrors += o.DecodeErrors
	c.UnsupportedLink += o.UnsupportedLink
	c.Truncated += o.Truncated
	c.TCPFlows += o.TCPFlows
	c.PacketsSkipped += o.PacketsSkipped
	c.NotTLS += o.NotTLS
	c.NoHello += o.NoHello
	c.PlaintextPreamble += o.PlaintextPreamble
	c.StreamGap += o.StreamGap
	c.MalformedRecord += o.MalformedRecord
	c.Oversized += o.Oversized
	c.MalformedHello += o.MalformedHello
	c.MalformedTicket += o.MalformedTicket
	c.FlowsEvicted += o.FlowsEvicted
}

// flowKey is a TCP connection's 4-tuple, ordered so that both directions
// map to the same key.
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
}

// makeKey orders the two endpoints so that both directions have one key.
func makeKey(a, b [16]byte, pa, pb uint16) flowKey {
	if string(a[:]) > string(b[:]) || (a == b && pa > pb) {
		return flowKey{a: b, b: a, pa: pb, pb: pa}
	}
	return flowKey{a: a, b: b, pa: pa, pb: pb}
}

// shard is a symmetric hash of the key (FNV-1a), to pick a worker.
func (k *flowKey) shard(n int) int {
	if n == 1 {
		return 0
	}
	h := uint32(2166136261)
	for _, b := range k.a {
		h = (h ^ uint32(b)) * 16777619
	}
	for _, b := range k.b {
		h = (h ^ uint32(b)) * 16777619
	}
	h = (h ^ uint32(k.pa)) * 16777619
	h = (h ^ uint32(k.pb)) * 16777619
	return int(h % uint32(n))
}

// endpointsOf returns the two ends of a flow as its first packet had them.
func endpointsOf(src, dst netip.AddrPort) (Endpoint, Endpoint) {
	return Endpoint{src.Addr(), src.Port()}, Endpoint{dst.Addr(), dst.Port()}
}
