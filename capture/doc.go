// Package capture turns capture files into a stream of link-layer packets
// for flows.
//
// [OpenFiles] reads pcap and pcapng files, plain or gzip-compressed, one
// after the other as if they were one capture; "-" names the standard input.
// The format is told from the first bytes of the content (the magic number),
// never from the file name, and only by peeking into a buffer, so pipes work
// as well as files. Supported:
//
//   - pcap, both byte orders, microsecond (a1b2c3d4) and nanosecond
//     (a1b23c4d) timestamps, version 2.4;
//   - pcapng (0a0d0d0a), both byte orders, several sections, several
//     interfaces with their own link types and timestamp resolutions;
//     block types it does not know are skipped;
//   - either of them in a gzip stream (1f8b), sniffed again inside.
//
// Each [Packet] carries the link type of the interface it was captured on.
// [SupportedLinkType] lists what flows decodes: Ethernet, BSD null and
// loopback, raw IP (101, and 12 and 14 where systems use them for raw IP),
// IPv4, IPv6, Linux cooked v1 and v2. A pcap file with another link type is
// refused when it is opened; pcapng packets from an interface with another
// link type are skipped and counted in [Stats].
//
// All files are opened and their headers checked by [OpenFiles], before the
// first packet is read, so that a bad last file fails before any output.
// Regular files are closed again after the check and reopened in turn, so
// any number of them can be given; pipes and the standard input stay open.
//
// [OpenLive] captures live: on Linux through an AF_PACKET socket with a
// TPACKET_V3 ring and no cgo, or, in the libpcap build (go build -tags
// libpcap), through libpcap on any system it runs on. The tcpdump filter
// expression is compiled by package filter and attached to the socket.
// [Interfaces] lists what to capture on (tcpdump -D), [DropPrivileges]
// changes user once the socket is open (tcpdump -Z). [Filtered] applies the
// same expressions to packets read from files (tcpdump -r FILE EXPR). A live
// Source ([Live]), unlike the others, may be closed from another goroutine,
// which makes a blocked read return io.EOF; its Stats may be read from any
// goroutine and include the kernel's counters. Its Next copies each packet
// out of the kernel's ring into a buffer of the Source; [Live.Poll] hands
// it over in place, allocating nothing, and returns [ErrTimeout] after
// [PollWait] without a packet, so that one goroutine can read, analyse and
// keep time: the packet is then valid until the next Poll, Next or Close,
// and Close, which unmaps the ring, must come after the caller is done
// with it.
//
// What it does not do: decode anything above the capture record (that is
// flows' job), reorder packets by time across files, or resynchronise after
// a damaged record. Packets shorter than their original length (snaplen)
// are delivered as they are and counted.
//
// Timestamps are UTC. pcapgo converts pcapng timestamps in 2^-e second
// units (if_tsresol with the high bit set) with a rounded factor; for
// 0 < e < 30 the package corrects them to the exact value.
//
// Errors are one line and name the file: see [Error], whose Hint field, when
// set, is a second line for a person (what to do). A file cut short, in a
// record or in its gzip stream, gives every complete packet before the cut,
// then an error wrapping [ErrTruncated]; a clean end of all input is
// [io.EOF]. After any error other than io.EOF the [Source] is finished and
// keeps returning that error; the files after a bad one are not read.
//
// Decryption Secrets Blocks of pcapng files (TLS key logs that editcap
// --inject-secrets puts in) are passed to [Options.Secrets] of
// [OpenFilesWith] as they are met; the package does not parse them.
// [Packet.Frame] is the packet's number as Wireshark shows it.
//
// Goroutines: each input, when its turn comes, is read by a goroutine of
// its own. It fills a ring of four blocks of 1 MiB, one read() each (for a
// gzip stream: decompressed to the end of the block), so that the kernel's
// copy out of the page cache, and inflating, run beside the analysis
// instead of before it. Next, on the caller's goroutine, walks pcap records
// in place in those blocks and copies only a record that spans two blocks,
// into a buffer of its own; pcapng is read by pcapgo's NgReader out of the
// same blocks (one copy more, into pcapgo's buffer). The goroutine ends at
// the end of its input, at a read error, or when the Source is closed; the
// header check of OpenFiles runs on the caller's goroutine and starts none.
// Close waits for it, except for the standard input, which is not ours to
// close: a goroutine blocked reading it ends when that read returns, and
// reads nothing more.
//
// Buffers: [Packet.Data] belongs to the Source. It points into a block of
// the ring, or into the Source's own buffer for a record across blocks or
// a pcapng packet, and is valid only until the next call to Next (or
// Close): then the block may be given back to the reader goroutine and
// overwritten. Callers copy what they keep. Reading a packet allocates
// nothing for pcap files and for pcapng packets without options; pcapgo
// allocates for pcapng packet options and for interfaces whose link type
// is 256 or more (Linux cooked v2). The reader given for "-" is read but
// never closed: it belongs to the caller. A Source is not safe for
// concurrent use.
package capture
