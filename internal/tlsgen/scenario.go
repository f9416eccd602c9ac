package tlsgen

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"time"
)

// Scenario is a set of servers and a list of timed steps. Steps run in the order of At (steps
// with equal At in list order); each TLS step is one TCP connection whose SYN is at
// Options.Start + At. Connections overlap freely on the virtual clock, and their packets are
// interleaved in the capture.
type Scenario struct {
	Name        string
	Description string
	Servers     []Server
	Steps       []Step
}

// Server is one TLS server endpoint with its own crypto/tls configuration.
type Server struct {
	Name string
	Addr netip.AddrPort
	// MinVersion and MaxVersion limit the server (0: crypto/tls defaults, TLS 1.2 to 1.3).
	MinVersion, MaxVersion uint16
	// Curves is the server's CurvePreferences. [tls.CurveP256] makes a default Go client,
	// which sends X25519MLKEM768 and X25519 key shares, go through a HelloRetryRequest.
	Curves []tls.CurveID
	// TicketKeys names the session ticket key set (Config.SetSessionTicketKeys) the server
	// starts with. Servers with the same name share keys; "" means a key set of its own.
	TicketKeys string
	// RSA makes the server use an RSA 2048 certificate instead of ECDSA P-256.
	RSA bool
	// NoTickets sets SessionTicketsDisabled.
	NoTickets bool
}

// Kind is what a step does.
type Kind int

const (
	// TLS is one TLS connection from Client to Server: handshake, a request, a response of
	// Response bytes, close_notify both ways and FINs.
	TLS Kind = iota
	// RotateKeys replaces Server's ticket keys by the key set named Keys. Tickets issued
	// under the old keys are rejected from then on.
	RotateKeys
	// PlainTCP is a TCP connection carrying an HTTP/1.1-like text exchange to Dest. It is not
	// TLS and not in the truth.
	PlainTCP
	// UDP is a DNS-like query and answer to Dest. Not in the truth.
	UDP
	// DropCache forgets the client session cache named by Cache, as when a client process
	// exits: a later step that names it starts with an empty cache. It also frees the memory
	// of the cache, which matters in a long [Stream].
	DropCache
)

func (k Kind) String() string {
	switch k {
	case TLS:
		return "tls"
	case RotateKeys:
		return "rotate-keys"
	case PlainTCP:
		return "plain-tcp"
	case UDP:
		return "udp"
	case DropCache:
		return "drop-cache"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Step is one action at a time offset.
type Step struct {
	At   time.Duration
	Kind Kind
	// Server names a Server (TLS, RotateKeys).
	Server string
	// Client is the client's address (TLS, PlainTCP, UDP); the port is picked per connection.
	Client netip.Addr
	// Cache names the client session cache. Steps that name the same cache share it (one
	// client process); "" means no cache, so no resumption. Within a cache crypto/tls keys
	// sessions by SNI. A DropCache step names the cache it forgets.
	Cache string
	// SNI is the client's ServerName.
	SNI string
	// MaxVersion limits the client (0: TLS 1.3).
	MaxVersion uint16
	// Curves is the client's CurvePreferences (nil: crypto/tls defaults).
	Curves []tls.CurveID
	// Response is the size of the server's response in bytes (0: Options.Response).
	Response int
	// Keys is the new key set of a RotateKeys step.
	Keys string
	// Dest is the server of a PlainTCP or UDP step.
	Dest netip.AddrPort
	// Note is copied to Conn.Note.
	Note string
}

// Combine puts several scenarios into one capture: part i starts at i*stagger, and the names
// of its servers, caches and key sets are prefixed with the part's name so that parts do not
// share state. Addresses are kept, so parts may use the same servers' addresses.
func Combine(name, description string, stagger time.Duration, parts ...Scenario) Scenario {
	sc := Scenario{Name: name, Description: description}
	for i, p := range parts {
		prefix := p.Name + "/"
		off := time.Duration(i) * stagger
		for _, s := range p.Servers {
			if s.TicketKeys == "" {
				s.TicketKeys = s.Name
			}
			s.Name = prefix + s.Name
			s.TicketKeys = prefix + s.TicketKeys
			sc.Servers = append(sc.Servers, s)
		}
		for _, st := range p.Steps {
			st.At += off
			if st.Server != "" {
				st.Server = prefix + st.Server
			}
			if st.Cache != "" {
				st.Cache = prefix + st.Cache
			}
			if st.Keys != "" {
				st.Keys = prefix + st.Keys
			}
			if st.Note == "" {
				st.Note = p.Name
			} else {
				st.Note = p.Name + ": " + st.Note
			}
			sc.Steps = append(sc.Steps, st)
		}
	}
	return sc
}

func (sc *Scenario) validate() error {
	if err := validateServers(sc.Name, sc.Servers); err != nil {
		return err
	}
	names := make(map[string]bool, len(sc.Servers))
	for _, s := range sc.Servers {
		names[s.Name] = true
	}
	for i := range sc.Steps {
		if err := validateStep(sc.Name, names, i, &sc.Steps[i]); err != nil {
			return err
		}
	}
	return nil
}

func validateServers(name string, servers []Server) error {
	names := make(map[string]bool)
	for _, s := range servers {
		if names[s.Name] {
			return fmt.Errorf("tlsgen: scenario %q: duplicate server %q", name, s.Name)
		}
		if !s.Addr.IsValid() {
			return fmt.Errorf("tlsgen: scenario %q: server %q has no address", name, s.Name)
		}
		names[s.Name] = true
	}
	return nil
}

// validateStep checks step i against the names of the servers.
func validateStep(name string, servers map[string]bool, i int, st *Step) error {
	if st.At < 0 {
		return fmt.Errorf("tlsgen: scenario %q: step %d: negative time", name, i)
	}
	switch st.Kind {
	case TLS, RotateKeys:
		if !servers[st.Server] {
			return fmt.Errorf("tlsgen: scenario %q: step %d: unknown server %q", name, i, st.Server)
		}
	case PlainTCP, UDP:
		if !st.Dest.IsValid() {
			return fmt.Errorf("tlsgen: scenario %q: step %d: no destination", name, i)
		}
	case DropCache:
		if st.Cache == "" {
			return fmt.Errorf("tlsgen: scenario %q: step %d: no cache to drop", name, i)
		}
		return nil
	default:
		return fmt.Errorf("tlsgen: scenario %q: step %d: unknown kind %v", name, i, st.Kind)
	}
	if st.Kind != RotateKeys && !st.Client.IsValid() {
		return fmt.Errorf("tlsgen: scenario %q: step %d: no client address", name, i)
	}
	return nil
}
