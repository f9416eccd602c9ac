// Package quicgen makes packet captures of real QUIC traffic together with the truth about
// every connection, for testing the analyzer's QUIC support against a QUIC stack.
//
// For each connection of a [Scenario] a quic-go client dials a quic-go server over an
// in-memory UDP network (no sockets), opens one stream, sends "GET /index.html\r\n" (ALPN
// hq-interop) and reads [ResponseSize] bytes back, waits for the session ticket when it
// has a session cache, and closes the connection. Every datagram either side sends is
// recorded in the order of the WriteTo calls (one lock orders them) and written as
// Ethernet / IPv4 or IPv6 / UDP with correct checksums to a classic pcap. Addresses are
// documentation ones: servers as the scenario says, clients 192.0.2.10 or 2001:db8::10 by
// default, a fresh ephemeral port per connection drawn from Options.Seed.
//
// # Goroutines and clocks
//
// [Generate] runs the client half of one connection at a time in the caller's goroutine.
// Each server has an accept goroutine and one goroutine per connection; quic-go runs its
// own. A server connection hands its ConnectionState to the generator through a channel
// registered for the client's address before it dials, after the client's CONNECTION_CLOSE
// arrived, so every datagram of a connection is sent before the next one starts. quic-go
// and crypto/tls run on the wall clock (timers, ticket ages); the capture does not: its
// timestamps are synthetic, Options.Start for the first datagram, then Options.Step per
// datagram in capture order, and Options.Gap between connections. The capture has no RTT.
// The bytes differ between runs (crypto/rand), and so may the number of datagrams and how
// the two sides interleave; the truth does not.
//
// # Truth
//
// [Conn] fields come from quic-go, never from reading our own capture: Version, DidResume,
// Used0RTT, cipher suite and ALPN from ConnectionState on both ends, which must agree;
// the original DCID, the 0-RTT packets sent, the Retry and the Initial packets that carried
// the first ClientHello from the client's qlog trace (quic.Config.Tracer with a recorder of
// qlog.PacketSent / PacketReceived events); Offered from the client session cache wrapper
// (Get returned a session); the client random and labels from tls.Config.KeyLogWriter. The
// recorder then checks the wire against them: the first datagram is the client's and its
// Initial has that DCID ([ParseLongHeader] reads only RFC 8999 invariants and the type
// bits), and a Retry is on the wire exactly when the client accepted one. A disagreement
// is an error. [WriteFiles] puts the truth as TSV ([WriteTruth], [ReadTruth]) and the key
// log (NSS format) beside the pcap.
//
// Go 1.26's crypto/tls logs CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET,
// CLIENT_TRAFFIC_SECRET_0 and SERVER_TRAFFIC_SECRET_0 for every connection, and never
// CLIENT_EARLY_TRAFFIC_SECRET: the 0-RTT packets of these captures cannot be decrypted.
// Initial packets need no key log (their keys come from the DCID).
//
// # Knobs
//
// Per server: Versions, Allow0RTT, Retry (Transport.VerifySourceAddress always true),
// the ticket key set. Per step: client address, SNI, a named session cache, Early
// (DialEarly, the request in 0-RTT, sent again after NextConnection if refused), the
// client's Versions and CurvePreferences (Go's default X25519MLKEM768 key share makes a
// ClientHello of about 1.5 kB, in two Initials; X25519 alone fits in one), RotateKeys
// (tls.Config.SetSessionTicketKeys on a server between connections, which refuses earlier
// tickets and their 0-RTT), and Damage: datagrams dropped, duplicated or swapped in the
// capture only, picked by side and index, while the stacks exchanged them all in order.
// [Scenarios] has one built-in scenario per case and a mixed one with all of them.
//
// It does not make lost or reordered traffic the stacks see, version negotiation,
// connection migration, key updates, HTTP/3, or more than one connection at a time.
package quicgen
