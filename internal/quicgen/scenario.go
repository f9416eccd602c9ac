package quicgen

import (
	"crypto/tls"
	"fmt"
	"net/netip"

	"github.com/quic-go/quic-go"
)

// Scenario is a list of QUIC connections between named servers and clients, all written to
// one capture.
type Scenario struct {
	Name        string
	Description string
	Servers     []Server
	Steps       []Step
}

// Server is one QUIC server: one quic.Transport on one address for the whole scenario, so
// its session ticket keys and Retry token key persist across connections.
type Server struct {
	Name string
	Addr netip.AddrPort
	// Versions is quic.Config.Versions (nil: quic-go's default, v1 then v2).
	Versions []quic.Version
	// Allow0RTT is quic.Config.Allow0RTT: the server accepts 0-RTT, and its tickets say so.
	Allow0RTT bool
	// Retry sets quic.Transport.VerifySourceAddress to always true, so that the server
	// answers every first Initial with a Retry.
	Retry bool
	// TicketKeys names the initial session ticket key set (derived from Options.Seed and
	// the name; "": the server's Name).
	TicketKeys string
}

// Step is one connection, or a change to a server before the next one.
type Step struct {
	// Server is the Name of the server to connect to.
	Server string
	// RotateKeys, when not "", makes the step only replace the server's session ticket
	// keys (tls.Config.SetSessionTicketKeys) with the set of that name: tickets issued
	// before no longer decrypt. No connection is made and the other fields are ignored.
	RotateKeys string
	// Client is the client's address (zero: 192.0.2.10, or 2001:db8::10 for an IPv6
	// server). Each connection gets a fresh ephemeral port.
	Client netip.Addr
	// SNI is tls.Config.ServerName ("": none is sent).
	SNI string
	// Cache names a client session cache shared by the steps that name it ("": none).
	Cache string
	// Early dials with DialEarly and sends the request as soon as the stream is open, in
	// 0-RTT when the client has a ticket that allows it. If the server refuses 0-RTT the
	// request is sent again after the handshake (quic.Conn.NextConnection).
	Early bool
	// Versions is the client's quic.Config.Versions (nil: quic-go's default).
	Versions []quic.Version
	// Curves is the client's tls.Config.CurvePreferences (nil: Go's default, which in Go
	// 1.26 sends an X25519MLKEM768 key share and makes the ClientHello span two Initial
	// packets; []tls.CurveID{tls.X25519} keeps it in one).
	Curves []tls.CurveID
	// Damage spoils this connection's datagrams in the capture only.
	Damage Damage
	Note   string
}

// Side is the sender of a datagram.
type Side int

const (
	ClientSide Side = iota // client
	ServerSide             // server
)

func (s Side) String() string {
	if s == ServerSide {
		return "server"
	}
	return "client"
}

// Pick names a datagram of one connection: the N-th (from 0) that Side sent on it, in the
// order sent.
type Pick struct {
	Side Side
	N    int
}

// Damage says how the capture of one connection differs from what was sent. The stacks
// are unaffected: they exchanged every datagram in order. A Pick that names a datagram the
// connection did not send is an error.
type Damage struct {
	// Drop leaves these datagrams out of the capture.
	Drop []Pick
	// Duplicate writes these datagrams twice, the copy right after the original.
	Duplicate []Pick
	// Swap exchanges the places of two datagrams in the capture; the timestamps stay in
	// place, so the capture stays in time order.
	Swap [][2]Pick
}

func (d *Damage) empty() bool { return len(d.Drop) == 0 && len(d.Duplicate) == 0 && len(d.Swap) == 0 }

func (sc *Scenario) validate() error {
	names := make(map[string]*Server, len(sc.Servers))
	addrs := make(map[netip.AddrPort]bool, len(sc.Servers))
	for i := range sc.Servers {
		s := &sc.Servers[i]
		if s.Name == "" || names[s.Name] != nil {
			return fmt.Errorf("quicgen: scenario %q: server %d: empty or repeated name %q", sc.Name, i, s.Name)
		}
		if !s.Addr.IsValid() || addrs[s.Addr] {
			return fmt.Errorf("quicgen: scenario %q: server %q: bad or repeated address %v", sc.Name, s.Name, s.Addr)
		}
		names[s.Name], addrs[s.Addr] = s, true
	}
	for i := range sc.Steps {
		st := &sc.Steps[i]
		srv := names[st.Server]
		if srv == nil {
			return fmt.Errorf("quicgen: scenario %q: step %d: unknown server %q", sc.Name, i, st.Server)
		}
		if st.RotateKeys == "" && st.Client.IsValid() && st.Client.Is4() != srv.Addr.Addr().Is4() {
			return fmt.Errorf("quicgen: scenario %q: step %d: client %v and server %v differ in address family", sc.Name, i, st.Client, srv.Addr)
		}
	}
	return nil
}
