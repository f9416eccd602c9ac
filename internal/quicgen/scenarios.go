package quicgen

import (
	"crypto/tls"
	"net/netip"
	"slices"

	"github.com/quic-go/quic-go"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// Scenarios returns the built-in scenarios by name. Each call returns fresh values.
func Scenarios() map[string]Scenario {
	return map[string]Scenario{
		"full":             full(),
		"resumed":          resumed(),
		"zero_rtt":         zeroRTT(),
		"zero_rtt_refused": zeroRTTRefused(),
		"retry":            retry(),
		"v2":               v2(),
		"hello_split":      helloSplit(),
		"damaged":          damaged(),
		"mixed":            mixed(),
	}
}

// ScenarioNames returns the names of [Scenarios], sorted.
func ScenarioNames() []string {
	var names []string
	for n := range Scenarios() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func full() Scenario {
	return Scenario{
		Name: "full", Description: "one full handshake over QUIC v1",
		Servers: []Server{{Name: "a", Addr: ap("198.51.100.1:443")}},
		Steps:   []Step{{Server: "a", SNI: "a.example", Note: "full handshake"}},
	}
}

func resumed() Scenario {
	return Scenario{
		Name: "resumed", Description: "a full handshake, then a resumption with its ticket",
		Servers: []Server{{Name: "a", Addr: ap("198.51.100.1:443")}},
		Steps: []Step{
			{Server: "a", SNI: "a.example", Cache: "c", Note: "full handshake, gets a ticket"},
			{Server: "a", SNI: "a.example", Cache: "c", Note: "resumes"},
		},
	}
}

func zeroRTT() Scenario {
	return Scenario{
		Name: "zero_rtt", Description: "a server that allows 0-RTT: the second connection sends its request in 0-RTT",
		Servers: []Server{{Name: "a", Addr: ap("198.51.100.1:443"), Allow0RTT: true}},
		Steps: []Step{
			{Server: "a", SNI: "a.example", Cache: "c", Early: true, Note: "full handshake, ticket allows 0-RTT"},
			{Server: "a", SNI: "a.example", Cache: "c", Early: true, Note: "resumes, 0-RTT accepted"},
		},
	}
}

func zeroRTTRefused() Scenario {
	return Scenario{
		Name:        "zero_rtt_refused",
		Description: "the server's ticket keys change after it issued a 0-RTT ticket: the offer and the 0-RTT data are refused",
		Servers:     []Server{{Name: "a", Addr: ap("198.51.100.1:443"), Allow0RTT: true}},
		Steps: []Step{
			{Server: "a", SNI: "a.example", Cache: "c", Early: true, Note: "full handshake, ticket allows 0-RTT"},
			{Server: "a", RotateKeys: "rotated"},
			{Server: "a", SNI: "a.example", Cache: "c", Early: true, Note: "offers the ticket with 0-RTT, refused: full handshake"},
		},
	}
}

func retry() Scenario {
	return Scenario{
		Name: "retry", Description: "a server that answers every first Initial with a Retry",
		Servers: []Server{{Name: "r", Addr: ap("198.51.100.2:443"), Retry: true}},
		Steps: []Step{
			{Server: "r", SNI: "r.example", Cache: "c", Note: "Retry, then a full handshake"},
			{Server: "r", SNI: "r.example", Cache: "c", Note: "Retry, then a resumption"},
		},
	}
}

func v2() Scenario {
	v := []quic.Version{quic.Version2}
	return Scenario{
		Name: "v2", Description: "QUIC version 2 (RFC 9369) on both sides",
		Servers: []Server{{Name: "b", Addr: ap("198.51.100.3:443"), Versions: v, Allow0RTT: true}},
		Steps: []Step{
			{Server: "b", SNI: "b.example", Cache: "c", Versions: v, Early: true, Note: "v2 full handshake"},
			{Server: "b", SNI: "b.example", Cache: "c", Versions: v, Early: true, Note: "v2 resumption with 0-RTT"},
		},
	}
}

func helloSplit() Scenario {
	return Scenario{
		Name: "hello_split", Description: "a ClientHello with an X25519MLKEM768 key share spans two Initial packets; one with X25519 only fits in one",
		Servers: []Server{{Name: "a", Addr: ap("198.51.100.1:443")}},
		Steps: []Step{
			{Server: "a", SNI: "a.example", Note: "Go default key shares: X25519MLKEM768 and X25519"},
			{Server: "a", SNI: "a.example", Curves: []tls.CurveID{tls.X25519}, Note: "X25519 only"},
		},
	}
}

func damaged() Scenario {
	return Scenario{
		Name: "damaged", Description: "capture damage around the Initials: a duplicated, a lost and two swapped datagrams",
		Servers: []Server{{Name: "a", Addr: ap("198.51.100.1:443")}},
		Steps: []Step{
			{Server: "a", SNI: "a.example", Note: "client's first Initial datagram captured twice",
				Damage: Damage{Duplicate: []Pick{{ClientSide, 0}}}},
			{Server: "a", SNI: "a.example", Note: "server's first two datagrams swapped",
				Damage: Damage{Swap: [][2]Pick{{{ServerSide, 0}, {ServerSide, 1}}}}},
			{Server: "a", SNI: "a.example", Note: "client's first Initial datagram not captured",
				Damage: Damage{Drop: []Pick{{ClientSide, 0}}}},
		},
	}
}

func mixed() Scenario {
	v2 := []quic.Version{quic.Version2}
	return Scenario{
		Name: "mixed", Description: "two clients, three servers (one IPv6), every kind of connection in one capture",
		Servers: []Server{
			{Name: "a", Addr: ap("198.51.100.1:443"), Allow0RTT: true},
			{Name: "r", Addr: ap("198.51.100.2:443"), Retry: true},
			{Name: "six", Addr: ap("[2001:db8::1]:443"), Versions: []quic.Version{quic.Version1, quic.Version2}},
		},
		Steps: []Step{
			{Server: "a", Client: netip.MustParseAddr("192.0.2.10"), SNI: "a.example", Cache: "c1", Early: true},
			{Server: "a", Client: netip.MustParseAddr("192.0.2.20"), SNI: "a.example", Cache: "c2"},
			{Server: "a", Client: netip.MustParseAddr("192.0.2.10"), SNI: "a.example", Cache: "c1", Early: true, Note: "0-RTT accepted"},
			{Server: "r", Client: netip.MustParseAddr("192.0.2.20"), SNI: "r.example", Cache: "c2"},
			{Server: "six", SNI: "six.example", Cache: "c6"},
			{Server: "six", SNI: "six.example", Cache: "c6", Versions: v2, Note: "v2 after a v1 ticket: resumes"},
			{Server: "a", RotateKeys: "rotated"},
			{Server: "a", Client: netip.MustParseAddr("192.0.2.10"), SNI: "a.example", Cache: "c1", Early: true, Note: "0-RTT refused after key change"},
			{Server: "a", Client: netip.MustParseAddr("192.0.2.20"), SNI: "a.example", Cache: "c2", Note: "refused after key change"},
		},
	}
}
