package quicgen

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
)

// Conn is the truth about one QUIC connection. Unless a field says otherwise it comes from
// quic-go: ConnectionState on both ends (which must agree), the client's qlog trace, and
// the client session cache; the capture is checked against it.
type Conn struct {
	// ID is the connection's 1-based position in the capture.
	ID int
	// Step is the 0-based index of the scenario step that made it.
	Step int
	// Start is the timestamp of its first datagram.
	Start          time.Time
	Client, Server netip.AddrPort
	// ServerName is the scenario's name for the server; SNI is what the client sent.
	ServerName, SNI string
	// Version is ConnectionState.Version.
	Version quic.Version
	// DCID is the client's original Destination Connection ID, hex: from the client's qlog
	// (its first Initial), equal to the one in the first datagram of the capture. SCID is
	// the client's Source Connection ID from that datagram.
	DCID, SCID string
	// Cipher (IANA name) and ALPN are from ConnectionState.TLS.
	Cipher, ALPN string
	// Resumed is ConnectionState.TLS.DidResume.
	Resumed bool
	// Offered: the session cache gave crypto/tls a session for this connection, so the
	// ClientHello carried a pre_shared_key.
	Offered bool
	// TicketFrom is the ID of the connection on which the client received the session it
	// offered: the one whose client stored it in the cache (the cache wrapper's Put).
	// Resumes is the ID of the full handshake that began the session of a resumed
	// connection. Zero when not offered, or not resumed.
	TicketFrom, Resumes int
	// ZeroRTTPackets counts the 0-RTT packets the client sent (its qlog trace); more than
	// zero means 0-RTT was attempted.
	ZeroRTTPackets int
	// Used0RTT is ConnectionState.Used0RTT: the server accepted the 0-RTT data.
	Used0RTT bool
	// Retry: the client received and accepted a Retry (qlog), and the capture holds one.
	Retry bool
	// HelloPackets is the number of Initial packets that carried the first ClientHello
	// (before any packet came back; retransmissions not counted); HelloBytes its length
	// (the end of the CRYPTO data in them).
	HelloPackets, HelloBytes int
	// ClientRandom is the client random of the key log lines of this connection, hex.
	ClientRandom string
	// KeyLogLabels are the labels of those lines, in the order written.
	KeyLogLabels []string
	// ClientDatagrams and ServerDatagrams count what each side sent; the capture may hold
	// fewer or more with Damage.
	ClientDatagrams, ServerDatagrams int
	Note                             string
}

// Rejected says a session was offered and the server made a full handshake.
func (c *Conn) Rejected() bool { return c.Offered && !c.Resumed }

// Rejected0RTT says the client sent 0-RTT packets and the server did not accept them.
func (c *Conn) Rejected0RTT() bool { return c.ZeroRTTPackets > 0 && !c.Used0RTT }

var truthHeader = []string{
	"id", "step", "start", "client", "server", "server_name", "sni", "version", "dcid", "scid",
	"cipher", "alpn", "resumed", "offered", "zero_rtt_packets", "used_0rtt", "retry",
	"hello_packets", "hello_bytes", "client_random", "keylog_labels", "client_datagrams",
	"server_datagrams", "note", "ticket_from", "resumes",
}

const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

// WriteTruth writes conns as tab-separated values with a header line. Empty strings are
// "-", lists comma-separated, versions hex (0x00000001), times RFC 3339 in µs, UTC.
func WriteTruth(w io.Writer, conns []Conn) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(strings.Join(truthHeader, "\t") + "\n")
	for i := range conns {
		c := &conns[i]
		f := []string{
			strconv.Itoa(c.ID), strconv.Itoa(c.Step), c.Start.UTC().Format(timeFormat),
			c.Client.String(), c.Server.String(), dash(c.ServerName), dash(c.SNI),
			fmt.Sprintf("0x%08x", uint32(c.Version)), dash(c.DCID), dash(c.SCID),
			dash(c.Cipher), dash(c.ALPN), strconv.FormatBool(c.Resumed),
			strconv.FormatBool(c.Offered), strconv.Itoa(c.ZeroRTTPackets),
			strconv.FormatBool(c.Used0RTT), strconv.FormatBool(c.Retry),
			strconv.Itoa(c.HelloPackets), strconv.Itoa(c.HelloBytes), dash(c.ClientRandom),
			dash(strings.Join(c.KeyLogLabels, ",")), strconv.Itoa(c.ClientDatagrams),
			strconv.Itoa(c.ServerDatagrams), dash(clean(c.Note)),
			strconv.Itoa(c.TicketFrom), strconv.Itoa(c.Resumes),
		}
		bw.WriteString(strings.Join(f, "\t") + "\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("quicgen: write truth: %w", err)
	}
	return nil
}

// ReadTruth reads what WriteTruth wrote.
func ReadTruth(r io.Reader) ([]Conn, error) {
	sc := bufio.NewScanner(r)
	var conns []Conn
	line := 0
	for sc.Scan() {
		line++
		f := strings.Split(sc.Text(), "\t")
		if line == 1 {
			if sc.Text() != strings.Join(truthHeader, "\t") {
				return nil, fmt.Errorf("quicgen: truth: unexpected header")
			}
			continue
		}
		if len(f) != len(truthHeader) {
			return nil, fmt.Errorf("quicgen: truth: line %d: %d fields, want %d", line, len(f), len(truthHeader))
		}
		var errs []error
		atoi := func(s string) int {
			n, err := strconv.Atoi(s)
			if err != nil {
				errs = append(errs, err)
			}
			return n
		}
		boolean := func(s string) bool {
			b, err := strconv.ParseBool(s)
			if err != nil {
				errs = append(errs, err)
			}
			return b
		}
		addr := func(s string) netip.AddrPort {
			a, err := netip.ParseAddrPort(s)
			if err != nil {
				errs = append(errs, err)
			}
			return a
		}
		var c Conn
		c.ID, c.Step = atoi(f[0]), atoi(f[1])
		t, err := time.Parse(timeFormat, f[2])
		if err != nil {
			errs = append(errs, err)
		}
		c.Start = t
		c.Client, c.Server = addr(f[3]), addr(f[4])
		c.ServerName, c.SNI = undash(f[5]), undash(f[6])
		v, err := strconv.ParseUint(strings.TrimPrefix(f[7], "0x"), 16, 32)
		if err != nil {
			errs = append(errs, err)
		}
		c.Version = quic.Version(v)
		c.DCID, c.SCID, c.Cipher, c.ALPN = undash(f[8]), undash(f[9]), undash(f[10]), undash(f[11])
		c.Resumed, c.Offered = boolean(f[12]), boolean(f[13])
		c.ZeroRTTPackets = atoi(f[14])
		c.Used0RTT, c.Retry = boolean(f[15]), boolean(f[16])
		c.HelloPackets, c.HelloBytes = atoi(f[17]), atoi(f[18])
		c.ClientRandom = undash(f[19])
		if s := undash(f[20]); s != "" {
			c.KeyLogLabels = strings.Split(s, ",")
		}
		c.ClientDatagrams, c.ServerDatagrams = atoi(f[21]), atoi(f[22])
		c.Note = undash(f[23])
		c.TicketFrom, c.Resumes = atoi(f[24]), atoi(f[25])
		if len(errs) > 0 {
			return nil, fmt.Errorf("quicgen: truth: line %d: %w", line, errs[0])
		}
		conns = append(conns, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("quicgen: truth: %w", err)
	}
	return conns, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func undash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func clean(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}
