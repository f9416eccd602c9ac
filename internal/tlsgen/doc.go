// Package tlsgen makes packet captures of real TLS traffic together with the truth about every
// connection, for testing the analyzer against the TLS stack itself.
//
// For each TCP connection of a [Scenario], a crypto/tls client and server talk over an
// in-memory transport that records everything each side writes. The client sends a small
// HTTP/1.1 request, the server a response of Options.Response bytes, both send close_notify,
// and the client reads everything (which is also when crypto/tls stores a TLS 1.3 ticket).
// The recorded byte streams are then laid out as TCP over IPv4 or IPv6 over Ethernet: SYN,
// SYN-ACK, ACK with MSS, window scale and SACK-permitted options; data in segments of at most
// the MSS; an ACK from the receiver for every second segment and the last one of each write;
// a FIN from each side and its ACK; random ISNs; correct checksums. [Generate] writes the
// packets to a pcap (or pcapng) file in timestamp order, so connections that overlap in time
// are interleaved.
//
// # Time
//
// Everything happens on a virtual clock that starts at Options.Start. Each step of a scenario
// has a time offset: its SYN is sent then. A packet sent right after another by the same side
// is Options.Step later; data arrives Options.RTT/2 after it is sent; a side that reads data
// answers one Step after it arrived. Those times are also what the stacks see through
// tls.Config.Time, so ticket ages and lifetimes follow the virtual clock.
//
// Connections are run one at a time in the order of their SYN. The client session caches are
// versioned by virtual time: a connection that starts while an earlier one is still open does
// not see the ticket that one receives later on the virtual clock. So "concurrent" in a
// scenario means what it would mean on a network, and the run stays deterministic.
//
// # Truth
//
// [Generate] returns one [Conn] per TLS connection, numbered by first packet. Resumed comes
// from tls.ConnectionState.DidResume on the client, and must equal the server's; HRR from
// ConnectionState.HelloRetryRequest on both sides and the ServerHello random on the wire;
// Offered from the ClientHello on the wire (a non-empty session_ticket or a pre_shared_key
// extension), cross-checked with what the session cache handed to crypto/tls. Session and
// Resumes name the full handshake that created the session; TicketFrom names the connection
// that received the offered ticket. A disagreement between these sources is an error, never a
// guess. [WriteTruth] writes the truth as TSV, [ReadTruth] reads it back.
//
// Plain TCP and UDP steps are written to the capture but are not in the truth.
//
// # What the stacks do (Go 1.26)
//
//   - crypto/tls never resumes by session ID; a TLS 1.2 resumption is always by ticket.
//   - The TLS 1.2 server sends a new ticket on every resumption (it re-wraps the same master
//     secret), and the client stores it, so the next connection offers the renewed ticket.
//   - The TLS 1.3 server sends exactly one NewSessionTicket per connection, in its first
//     flight; the client stores it when it first reads application data.
//   - A server whose CurvePreferences is [tls.CurveP256] makes a default client (key shares
//     X25519MLKEM768 and X25519) go through a HelloRetryRequest, on resumptions too; the PSK is
//     kept in the second ClientHello. The order of CurvePreferences is ignored, so a client
//     must be limited to P-256 to avoid the HRR.
//   - The TLS 1.2 server echoes the client's session ID when it resumes by ticket and sends
//     an empty one on a full handshake.
//   - crypto/tls takes key shares and signatures from crypto/rand whatever Config.Rand says,
//     so the bytes differ between runs. Everything else (times, ports, ISNs, the truth but for
//     ticket digests) is fixed by Options.Seed.
//
// # Not modelled
//
// TCP flow control and congestion (a large response goes out back to back), delayed ACKs,
// TCP timestamps, Nagle, RST. Options.Damage spoils the written capture (loss, reordering,
// duplicate segments, retransmissions with other bytes, overlapping retransmissions, one-byte
// segments, snaplen, a start in the middle); the stacks never see
// it, so the truth stays what really happened.
//
// # Memory
//
// Packets are written as soon as no connection still to run can come before them: memory
// holds the connections open at one moment, not the capture, so large captures stream.
// [Generate] still holds the scenario's steps and returns the whole truth; [Stream] takes
// the steps from an iterator and hands each connection's truth over as soon as it is known,
// and a [DropCache] step frees a client's session cache, so that nothing grows with the
// length of the capture.
//
// # Benchmark capture
//
// [GenerateBench] streams a large capture for benchmarks, about a given size, from the steps
// of [BenchSteps]: the job mix of the shared benchmark kit's nginx/curl/openssl capture
// (TLS 1.2 and 1.3, about 40% resumed, a few offers rejected, bodies of 1 KB to 8 MB, plain
// HTTP, DNS over UDP, 15% IPv6), made with crypto/tls on both sides, so that TLS 1.2 resumes
// by ticket only. `tlsgen --bench --size MB` writes it. One gigabyte takes about 30 s of CPU,
// most of it in the RSA signatures of the full handshakes.
//
// This package imports no other package of the module: it is the independent source of truth
// the analyzer is tested against.
package tlsgen
