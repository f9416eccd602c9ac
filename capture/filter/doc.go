// Package filter compiles tcpdump filter expressions ("tcp port 443 and
// host 10.0.0.1") to classic BPF, for a Linux socket and for packets read
// from capture files.
//
// [Compile] gives a [Filter] for one link type, whose Matches runs the
// program over a packet. In the default build the compiler is pure Go
// ([CompileGo]) and programs run in golang.org/x/net/bpf's VM, without
// allocating. In the libpcap build (go build -tags libpcap) Compile is
// libpcap's pcap_compile and Matches libpcap's bpf_filter, so that the whole
// pcap-filter(7) syntax works on files as it does live. [CompileSocket]
// compiles for a Linux AF_PACKET socket (SO_ATTACH_FILTER), where VLAN tags
// and, on a cooked socket, the protocol are ancillary data.
//
// The pure-Go compiler implements this subset of pcap-filter(7), with
// libpcap's meaning, checked against tcpdump on generated packets:
//
//   - protocols: ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6, and
//     "[ip|ip6] proto N";
//   - "[tcp|udp|sctp] [src|dst] port N", portrange A-B, with numbers (hex
//     and octal too) or a few well-known service names (https, domain, ...);
//   - "[ip|ip6|arp|rarp] [src|dst] host ADDR", IPv4 or IPv6;
//   - "[src|dst] net CIDR", "net 10" and "net 192.168" (abbreviated IPv4),
//     "net A.B.C.D mask M.M.M.M";
//   - "src or dst", "src and dst";
//   - and, &&, or, ||, not, !, parentheses; and and or have the same
//     precedence and group to the left, as in libpcap: "a or b and c" is
//     "(a or b) and c";
//   - a bare value repeats the qualifiers before it: "tcp port 443 or 8443",
//     "host 10.0.0.1 or 10.0.0.2";
//   - "vlan [ID]" on Ethernet (TPID 0x8100, 0x88a8 or 0x9100); as in libpcap,
//     everything after it in the expression looks past the tag.
//
// Link types: Ethernet, Linux cooked v1 and v2, raw IP (101, 12, 14), IPv4,
// IPv6, BSD null (either byte order) and loop.
//
// As in libpcap, port tests skip IPv4 fragments other than the first, and
// "tcp"/"udp"/... on IPv6 look at the next-header field of the fixed header,
// and also behind a fragment header; no other IPv6 extension header is
// walked, so "tcp port 443" does not match TCP behind a hop-by-hop or
// routing header (tcpdump does not either).
//
// What it does not do: arithmetic and byte offsets (tcp[13] & 2 != 0, len,
// less, greater), link-level addresses (ether host), host and service names
// it does not know (no lookups), and the rarer protocols. Those give an
// [*Error] wrapping [ErrUnsupported] that names the libpcap build.
//
// Errors are one line and quote the expression:
//
//	filter: syntax error in "tcp and": expression ends after "and"
//	filter: "port 70000": port 70000 out of range (0-65535)
//	filter: cannot compile "tcp[13] & 2 != 0" in pure Go (arithmetic and byte offsets need the libpcap build: go build -tags libpcap)
//
// A Filter is immutable and safe for concurrent use; Matches only reads the
// packet.
package filter
