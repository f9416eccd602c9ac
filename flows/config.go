package flows

import (
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Config sets a Tracker's behaviour. Zero values take the defaults of
// [Defaults]: the command's flags take theirs from there too.
type Config struct {
	// SessionTimeout is the sink's session timeout: the slow sweeps that
	// call Sink.Tick run at least twice per SessionTimeout. Default 1h.
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
	// Keys, when set, gives TLS secrets by client random: the server's
	// flight of a TLS 1.3 connection over TCP is then decrypted up to its
	// NewSessionTickets (decrypt.go).
	Keys Keys
	// Keep, when set, is called on the front's goroutine with every
	// packet the front hands to a worker: the packets of flows whose
	// handshake is not known to be over, the first packet of every TCP
	// flow among them (so that flow ids stay the same). Written to a file
	// in capture order, they give the same verdicts again (tlsresume -w).
	// data is valid during the call only.
	Keep func(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType)
	// Workers is how many goroutines reassemble and read handshakes;
	// flows are sharded among them by a symmetric hash of their
	// addresses. The output does not depend on it. Default 1.
	Workers int
}

// Defaults returns the configuration that zero values stand for.
func Defaults() Config {
	return Config{
		SessionTimeout:          time.Hour,
		GapTimeout:              2 * time.Second,
		IdleTimeout:             60 * time.Second,
		FinishedTimeout:         10 * time.Minute,
		MaxFlows:                100000,
		MaxBufferedPagesPerConn: 64,
		MaxBufferedPages:        32768,
		MaxMessage:              16 << 10,
		Workers:                 1,
	}
}

func (c *Config) defaults() {
	d := Defaults()
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	seti := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&c.SessionTimeout, d.SessionTimeout)
	set(&c.GapTimeout, d.GapTimeout)
	set(&c.IdleTimeout, d.IdleTimeout)
	set(&c.FinishedTimeout, d.FinishedTimeout)
	seti(&c.MaxFlows, d.MaxFlows)
	seti(&c.MaxBufferedPagesPerConn, d.MaxBufferedPagesPerConn)
	seti(&c.MaxBufferedPages, d.MaxBufferedPages)
	seti(&c.MaxMessage, d.MaxMessage)
	seti(&c.Workers, d.Workers)
}

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
	UDPFlows          uint64 `json:"udp_flows"` // QUIC and DTLS flows
	QUICUndecryptable uint64 `json:"quic_initial_undecryptable"`
	QUICMalformed     uint64 `json:"quic_malformed"`
	CryptoRejected    uint64 `json:"crypto_frames_rejected"`
	DTLSMalformed     uint64 `json:"dtls_malformed"`
	UDPGivenUp        uint64 `json:"udp_handshakes_given_up"` // past maxUDPReading
	ConnsWithKeys     uint64 `json:"conns_with_keys"`
	RecordsDecrypted  uint64 `json:"records_decrypted"`
	DecryptFailures   uint64 `json:"decrypt_failures"`
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
	c.UDPFlows += o.UDPFlows
	c.QUICUndecryptable += o.QUICUndecryptable
	c.QUICMalformed += o.QUICMalformed
	c.CryptoRejected += o.CryptoRejected
	c.DTLSMalformed += o.DTLSMalformed
	c.UDPGivenUp += o.UDPGivenUp
	c.ConnsWithKeys += o.ConnsWithKeys
	c.RecordsDecrypted += o.RecordsDecrypted
	c.DecryptFailures += o.DecryptFailures
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
