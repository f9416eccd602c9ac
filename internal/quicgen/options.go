package quicgen

import "time"

// Options are the knobs of one run. The zero value is usable.
type Options struct {
	// Seed drives the client ports and the session ticket keys. The stacks draw their
	// randomness (connection IDs, key shares, packet protection) from crypto/rand, so
	// the bytes differ between runs; the truth does not.
	Seed int64
	// Start is the timestamp of the first datagram (zero: 2026-01-01T00:00:00Z).
	Start time.Time
	// Step is the time between two datagrams in the capture (0: 100µs).
	Step time.Duration
	// Gap is the time between the last datagram of one connection and the first of the
	// next (0: 1s).
	Gap time.Duration
}

// DefaultStart is the timestamp of the first datagram when Options.Start is zero.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (o Options) withDefaults() Options {
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	o.Start = o.Start.Truncate(time.Microsecond)
	if o.Step <= 0 {
		o.Step = 100 * time.Microsecond
	}
	if o.Gap <= 0 {
		o.Gap = time.Second
	}
	return o
}
