package tlsgen

import (
	"io"
	"time"
)

// Options are the knobs of one generation run. The zero value is usable.
type Options struct {
	// Seed drives everything random that the generator chooses: ISNs, ports, ticket keys,
	// damage, and the crypto/tls Config.Rand of every stack.
	Seed int64
	// Start is the time of the first step (zero: 2026-01-01T00:00:00Z). Times are kept to
	// the microsecond. Classic pcap stores 32-bit seconds: past 2106 use Pcapng.
	Start time.Time
	// MSS is the TCP maximum segment size (0: 1460 over IPv4, 1440 over IPv6).
	MSS int
	// RTT is the round-trip time between every client and server (0: 20ms).
	RTT time.Duration
	// Step is the time between two packets sent back to back (0: 50µs).
	Step time.Duration
	// Response is the default size of the server's response (0: 3000 bytes).
	Response int
	// Pcapng writes pcapng instead of classic pcap.
	Pcapng bool
	// KeyLog, when set, receives every client's TLS secrets in the NSS
	// key log format (crypto/tls Config.KeyLogWriter).
	KeyLog io.Writer
	// Damage spoils the capture for the analyzer's degraded-input tests. The truth does not
	// change: it is what the stacks did, not what the capture shows.
	Damage Damage
}

// Damage describes how the written capture differs from what was sent. Everything random is
// drawn from Options.Seed.
type Damage struct {
	// Loss is the probability that a packet is missing from the capture (the stacks still
	// received it: capture loss, not network loss).
	Loss float64
	// Reorder is the probability that a TCP segment with data is captured three packet
	// times late, after the segments that follow it.
	Reorder float64
	// Retransmit is the probability that a TCP segment with data appears a second time,
	// with the same bytes, 200ms later (a spurious retransmission).
	Retransmit float64
	// RetransmitAltered is the probability that a TCP segment with data appears a second
	// time, 200ms later, with different bytes: every payload byte XORed with a random
	// non-zero byte. The first copy is what the stacks exchanged.
	RetransmitAltered float64
	// Overlap is the probability that a TCP segment with data is retransmitted 200ms later
	// together with the last bytes (1 to 64) of the segment before it from the same side:
	// an overlapping retransmission with the same bytes, as from a stack that repacketizes.
	Overlap float64
	// OneByte sends every TCP payload one byte per segment.
	OneByte bool
	// Snaplen cuts every captured packet to this many bytes (0: no cut).
	Snaplen int
	// SkipFirst leaves the first SkipFirst packets out of the capture, so that it starts in
	// the middle of connections.
	SkipFirst int
	// Conn.ID and Conn.Flow always number the connections of the undamaged capture; a
	// connection whose packets are all lost or skipped keeps its number.
	//
	// TODO: truncated file, garbage between packets, handshakes that fail with an alert.
}

const (
	defaultRTT      = 20 * time.Millisecond
	defaultStep     = 50 * time.Microsecond
	defaultResponse = 3000
	defaultMSS4     = 1460
	defaultMSS6     = 1440
	retransmitDelay = 200 * time.Millisecond
)

// DefaultStart is the virtual time of the first step when Options.Start is zero.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (o Options) withDefaults() Options {
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	o.Start = o.Start.Truncate(time.Microsecond)
	if o.RTT <= 0 {
		o.RTT = defaultRTT
	}
	o.RTT = o.RTT.Truncate(2 * time.Microsecond)
	if o.RTT == 0 {
		o.RTT = 2 * time.Microsecond
	}
	if o.Step <= 0 {
		o.Step = defaultStep
	}
	o.Step = o.Step.Truncate(2 * time.Microsecond)
	if o.Step == 0 {
		o.Step = 2 * time.Microsecond
	}
	if o.Response <= 0 {
		o.Response = defaultResponse
	}
	return o
}

func (o *Options) mss(v6 bool) int {
	if o.MSS > 0 {
		return o.MSS
	}
	if v6 {
		return defaultMSS6
	}
	return defaultMSS4
}
