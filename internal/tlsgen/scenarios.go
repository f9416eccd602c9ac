package tlsgen

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Addresses come from the documentation ranges (RFC 5737, RFC 3849): servers in 192.0.2.0/24
// and 2001:db8::/64, clients in 198.51.100.0/24 and 2001:db8:1::/64, non-TLS servers in
// 203.0.113.0/24.

func v4(s string) netip.Addr { return netip.MustParseAddr(s) }
func ap(s string) netip.AddrPort {
	return netip.MustParseAddrPort(s)
}

// Scenarios returns the named scenarios. Each call builds them anew.
func Scenarios() map[string]Scenario {
	m := make(map[string]Scenario)
	for _, sc := range []Scenario{
		tls12Tickets(), tls13PSK(), rejectedAfterKeyChange(), hrr(), concurrent(), ipv6(),
		twoServers(true), twoServers(false), ticketChain(), mixed(),
	} {
		m[sc.Name] = sc
	}
	return m
}

// ScenarioNames returns the names of Scenarios, sorted.
func ScenarioNames() []string {
	var names []string
	for n := range Scenarios() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// series is n TLS steps from one client, every gap from at on.
func series(at, gap time.Duration, n int, st Step) []Step {
	var steps []Step
	for i := range n {
		s := st
		s.At = at + time.Duration(i)*gap
		steps = append(steps, s)
	}
	return steps
}

func tls12Tickets() Scenario {
	return Scenario{
		Name:        "tls12-tickets",
		Description: "TLS 1.2 only: a full handshake, then 3 resumptions with session tickets",
		Servers:     []Server{{Name: "s", Addr: ap("192.0.2.10:443"), MaxVersion: tls.VersionTLS12}},
		Steps: series(0, time.Second, 4, Step{Server: "s", Client: v4("198.51.100.1"), Cache: "c",
			SNI: "tls12.example.com"}),
	}
}

func tls13PSK() Scenario {
	return Scenario{
		Name:        "tls13-psk",
		Description: "TLS 1.3: a full handshake, then 4 PSK resumptions, each with the ticket of the previous connection",
		Servers:     []Server{{Name: "s", Addr: ap("192.0.2.11:443")}},
		Steps: series(0, time.Second, 5, Step{Server: "s", Client: v4("198.51.100.2"), Cache: "c",
			SNI: "tls13.example.com"}),
	}
}

func rejectedAfterKeyChange() Scenario {
	sc := Scenario{
		Name: "rejected-after-key-change",
		Description: "TLS 1.2 and TLS 1.3: full, 2 resumptions, the server's ticket keys change, " +
			"the next offer is rejected (full handshake), then 2 resumptions of the new session",
		Servers: []Server{
			{Name: "s12", Addr: ap("192.0.2.12:443"), MaxVersion: tls.VersionTLS12},
			{Name: "s13", Addr: ap("192.0.2.13:443")},
		},
	}
	for i, srv := range []string{"s12", "s13"} {
		off := time.Duration(i) * 100 * time.Millisecond
		base := Step{Server: srv, Client: netip.AddrFrom4([4]byte{198, 51, 100, byte(3 + i)}), Cache: srv,
			SNI: "rotate.example.com"}
		sc.Steps = append(sc.Steps, series(off, time.Second, 3, base)...)
		sc.Steps = append(sc.Steps, Step{At: 2500 * time.Millisecond, Kind: RotateKeys, Server: srv, Keys: srv + "-new"})
		rej := base
		rej.Note = "offer under the old keys"
		sc.Steps = append(sc.Steps, series(off+3*time.Second, time.Second, 1, rej)...)
		sc.Steps = append(sc.Steps, series(off+4*time.Second, time.Second, 2, base)...)
	}
	return sc
}

func hrr() Scenario {
	return Scenario{
		Name: "hrr",
		Description: "TLS 1.3 server that only accepts P-256: a default client gets a HelloRetryRequest on " +
			"its full handshake and on its 2 resumptions; a client limited to P-256 gets none (crypto/tls " +
			"ignores the order of CurvePreferences, so [P-256, X25519] would still send an X25519 share)",
		Servers: []Server{{Name: "s", Addr: ap("192.0.2.14:443"), Curves: []tls.CurveID{tls.CurveP256}}},
		Steps: append(
			series(0, time.Second, 3, Step{Server: "s", Client: v4("198.51.100.5"), Cache: "c",
				SNI: "hrr.example.com"}),
			series(500*time.Millisecond, time.Second, 2, Step{Server: "s", Client: v4("198.51.100.6"), Cache: "p256",
				SNI: "hrr.example.com", Curves: []tls.CurveID{tls.CurveP256}})...),
	}
}

func concurrent() Scenario {
	sc := Scenario{
		Name: "concurrent",
		Description: "20 clients in parallel, each a full handshake then 3 resumptions 150ms apart; " +
			"odd clients are limited to TLS 1.2",
		Servers: []Server{{Name: "s", Addr: ap("192.0.2.15:443")}},
	}
	for i := range 20 {
		st := Step{Server: "s", Client: netip.AddrFrom4([4]byte{198, 51, 100, byte(101 + i)}),
			Cache: fmt.Sprintf("c%d", i), SNI: "www.example.com"}
		if i%2 == 1 {
			st.MaxVersion = tls.VersionTLS12
		}
		sc.Steps = append(sc.Steps, series(time.Duration(i)*2*time.Millisecond, 150*time.Millisecond, 4, st)...)
	}
	return sc
}

func ipv6() Scenario {
	c := func(n byte) netip.Addr {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: n})
	}
	return Scenario{
		Name: "ipv6",
		Description: "over IPv6: TLS 1.2 tickets, TLS 1.3 PSK with an RSA certificate, TLS 1.3 with " +
			"HelloRetryRequest, each a full handshake and 2 resumptions; one plain HTTP connection",
		Servers: []Server{
			{Name: "s12", Addr: ap("[2001:db8::12]:443"), MaxVersion: tls.VersionTLS12},
			{Name: "s13", Addr: ap("[2001:db8::13]:443"), RSA: true},
			{Name: "hrr", Addr: ap("[2001:db8::14]:443"), Curves: []tls.CurveID{tls.CurveP256}},
		},
		Steps: slices.Concat(
			series(0, time.Second, 3, Step{Server: "s12", Client: c(1), Cache: "c1", SNI: "v6.example.com"}),
			series(10*time.Millisecond, time.Second, 3, Step{Server: "s13", Client: c(2), Cache: "c2", SNI: "v6.example.com"}),
			series(20*time.Millisecond, time.Second, 3, Step{Server: "hrr", Client: c(3), Cache: "c3", SNI: "v6.example.com"}),
			[]Step{{At: 1500 * time.Millisecond, Kind: PlainTCP, Client: c(4), Dest: ap("[2001:db8::80]:80"),
				SNI: "plain.example.com"}},
		),
	}
}

func twoServers(shared bool) Scenario {
	sc := Scenario{
		Servers: []Server{
			{Name: "A", Addr: ap("192.0.2.20:443"), TicketKeys: "A"},
			{Name: "B", Addr: ap("192.0.2.21:443"), TicketKeys: "B"},
		},
	}
	// One client process (one cache, keyed by SNI) talks to both servers under one name,
	// as behind a DNS round robin.
	pattern := []string{"A", "B", "A", "B"}
	if shared {
		sc.Name = "two-servers-shared-keys"
		sc.Description = "two servers with the same ticket keys: a ticket from A is accepted by B and " +
			"the other way round (TLS 1.3, and TLS 1.2 from a second client)"
		sc.Servers[0].TicketKeys, sc.Servers[1].TicketKeys = "farm", "farm"
	} else {
		sc.Name = "two-servers-different-keys"
		sc.Description = "two servers with different ticket keys: A resumes its own ticket, B rejects it " +
			"and issues its own, which B resumes and A rejects (TLS 1.3, and TLS 1.2 from a second client)"
		pattern = []string{"A", "A", "B", "B", "A"}
	}
	for i, max := range []uint16{0, tls.VersionTLS12} {
		for j, srv := range pattern {
			sc.Steps = append(sc.Steps, Step{
				At:     time.Duration(j)*time.Second + time.Duration(i)*100*time.Millisecond,
				Server: srv, Client: netip.AddrFrom4([4]byte{198, 51, 100, byte(20 + i)}),
				Cache: fmt.Sprintf("client%d", i), SNI: "farm.example.com", MaxVersion: max,
			})
		}
	}
	return sc
}

func ticketChain() Scenario {
	return Scenario{
		Name: "ticket-chain",
		Description: "TLS 1.2: each resumption gets a renewed ticket and the next connection offers that one; " +
			"then one full handshake followed by 4 connections offering the same ticket at once " +
			"(and the same with TLS 1.3: 3 connections offering one PSK identity at once)",
		Servers: []Server{
			{Name: "s12", Addr: ap("192.0.2.30:443"), MaxVersion: tls.VersionTLS12},
			{Name: "s13", Addr: ap("192.0.2.31:443")},
		},
		Steps: slices.Concat(
			series(0, time.Second, 5, Step{Server: "s12", Client: v4("198.51.100.30"), Cache: "chain",
				SNI: "chain.example.com"}),
			series(500*time.Millisecond, 0, 1, Step{Server: "s12", Client: v4("198.51.100.31"), Cache: "fan",
				SNI: "fan.example.com"}),
			series(1500*time.Millisecond, time.Millisecond, 4, Step{Server: "s12", Client: v4("198.51.100.31"),
				Cache: "fan", SNI: "fan.example.com", Note: "same ticket at once"}),
			series(700*time.Millisecond, 0, 1, Step{Server: "s13", Client: v4("198.51.100.32"), Cache: "fan13",
				SNI: "fan13.example.com"}),
			series(1700*time.Millisecond, time.Millisecond, 3, Step{Server: "s13", Client: v4("198.51.100.32"),
				Cache: "fan13", SNI: "fan13.example.com", Note: "same PSK identity at once"}),
		),
	}
}

// nonTLS is plain TCP and UDP traffic that the analyzer must skip.
func nonTLS() Scenario {
	sc := Scenario{Name: "non-tls"}
	for i := range 4 {
		at := time.Duration(i) * 700 * time.Millisecond
		sc.Steps = append(sc.Steps,
			Step{At: at, Kind: UDP, Client: v4("198.51.100.200"), Dest: ap("203.0.113.53:53"),
				SNI: fmt.Sprintf("host%d.example.com", i)},
			Step{At: at + 5*time.Millisecond, Kind: PlainTCP, Client: v4("198.51.100.200"),
				Dest: ap("203.0.113.80:80"), SNI: "plain.example.com", Response: 500 + 1500*i},
		)
	}
	// Plain text on port 443 too: a port is not a protocol.
	sc.Steps = append(sc.Steps, Step{At: 1200 * time.Millisecond, Kind: PlainTCP, Client: v4("198.51.100.201"),
		Dest: ap("203.0.113.80:443"), SNI: "not-tls.example.com", Response: 200})
	return sc
}

func mixed() Scenario {
	return Combine("mixed",
		"all the named scenarios in one capture, started 250ms apart, plus plain TCP and UDP traffic",
		250*time.Millisecond,
		tls12Tickets(), tls13PSK(), rejectedAfterKeyChange(), hrr(), concurrent(), ipv6(),
		twoServers(true), twoServers(false), ticketChain(), nonTLS())
}
