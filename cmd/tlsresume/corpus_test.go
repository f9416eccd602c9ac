package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The corpus agreement test runs every capture of testdata/pcaps/corpus
// (real captures from Zeek, Suricata, Wireshark, Arkime, nDPI, mercury, ...)
// and compares each TLS-over-TCP handshake attempt of its tshark-derived
// ground truth (groundtruth/*.tsv, made by gt.py; see testdata/pcaps/README.md)
// with our conn event, under docs/design.md's resumption rules:
//
//   - verdict: full, resumed by session_id / ticket / psk, or unknown;
//   - rejected: an offer followed by a full handshake;
//   - compat: TLS 1.3 with an echoed legacy session ID is never resumed
//     unless the server selected a PSK;
//   - resumes: a TLS 1.2 resumption linked by the ground truth to an
//     earlier connection in the capture points at that connection;
//   - offered: what the ClientHello offered for resumption;
//   - missing: every attempt has a conn event, matched by tshark's
//     tcp.stream (id = stream + 1) and its addresses;
//   - id: ids follow tshark's tcp.stream; endpoints: the client is the
//     sender of the ClientHello.
//
// The ground truth is read with docs/design.md's rules where gt.py judges one
// handshake alone: a decision resting only on an absence ("-> inferred"),
// abbreviated_unknown and incomplete are unknown; offer_rejected=sid is a
// rejection only when a server in the capture assigned that session ID
// earlier. gt.py's sid? (the ID came from a TLS 1.3-capable client) follows
// the same rule: docs/design.md makes an assigned ID an offer whoever sends it
// (suricata-verify base64-decode-5885 tcp:13 offers the ID tcp:3 was given
// and another server of the farm refuses it); an ID never seen assigned is
// never a rejection.
//
// Every disagreement must be listed in corpusExceptions with the reason,
// and every listed exception must still occur.

const corpusDir = "../../testdata/pcaps/corpus"

// corpusException is a known, explained disagreement with the ground truth.
type corpusException struct {
	capture string // path under testdata/pcaps/corpus
	stream  string // ground-truth stream ("tcp:3"), "" for the whole capture
	check   string // exit, verdict, rejected, compat, resumes, offered, missing, id, endpoints
	got     string // what we say
	want    string // what the ground truth (read by docs/design.md's rules) says
	why     string // checked with tshark
}

// corpusExceptions lists every known disagreement, each checked with
// tshark. Keep it true: an entry that no longer occurs fails the test.
// stream "*" with got and want "*" is a capture-wide cause (a tunnel hiding
// one direction); stream "*" with values is a per-capture count (id).
// Wrong verdicts by docs/design.md's rules are bugs, not exceptions: they are
// not listed here.
var corpusExceptions = []corpusException{
	// Damaged files.
	{"suricata-verify/tests/bug-1450-04/tls_DER-incomplete-header.pcap", "", "exit", "1", "0",
		"damaged file: record 7 claims a 4325376-byte packet (snaplen 262144); tshark and capinfos also stop after 6 packets"},
	{"suricata-verify/tests/bug-1450-05/tls_DER-incomplete-content.pcap", "", "exit", "1", "0",
		"damaged file: record 7 claims a 4325376-byte packet (snaplen 262144); tshark and capinfos also stop after 6 packets"},

	// Encapsulations we do not decode (docs/design.md: Ethernet, 802.1Q/QinQ,
	// Linux cooked, raw IP, BSD null).
	{"arkime/pppoe.pcap", "tcp:0", "missing", "no conn", "full", "inside PPPoE session frames (ethertype 0x8864), not decoded"},
	{"zeek/pppoe-over-qinq.pcap", "tcp:0", "missing", "no conn", "full", "inside PPPoE (ethertype 0x8864) over QinQ; PPPoE is not decoded"},
	{"nDPI/vxlan.pcap", "tcp:0", "missing", "no conn", "full", "inside VXLAN (UDP 4789), not decoded"},
	{"nDPI/vxlan.pcap", "tcp:1", "missing", "no conn", "full", "inside VXLAN (UDP 4789), not decoded"},
	{"zeek/tunnels/geneve-47101.pcap", "tcp:0", "missing", "no conn", "full", "inside Geneve (UDP 6081), not decoded"},
	{"zeek/tunnels/gtp/gtp6_gtp_0x32.pcap", "tcp:0", "missing", "no conn", "resumed_id", "inside GTP-U (UDP 2152), not decoded"},
	{"nDPI/ja3_lots_of_cipher_suites_2_anon.pcap", "tcp:0", "missing", "no conn", "full", "inside GTP-U (UDP 2152), not decoded"},
	{"nDPI/tls_invalid_reads.pcap", "tcp:2", "missing", "no conn", "incomplete", "inside GTP-U (UDP 2152) over QinQ, not decoded"},
	{"nDPI/capwap_data.pcapng", "tcp:0", "missing", "no conn", "incomplete", "inside CAPWAP data (802.11 frames in UDP 5247), not decoded"},
	{"mercury/unit_tests/pcaps/geneve.pcap", "*", "offered", "*", "*",
		"the client's packets are inside Geneve (UDP 6081), not decoded; the server's are plain: no ClientHello, so no offer is visible"},
	{"mercury/unit_tests/pcaps/geneve.pcap", "*", "rejected", "*", "*",
		"the client's packets are inside Geneve (UDP 6081), not decoded: the rejected ticket or PSK offer is in the unseen ClientHello"},
	{"mercury/unit_tests/pcaps/geneve.pcap", "tcp:20", "verdict", "unknown", "resumed/ticket",
		"the ticket offer is in the ClientHello inside Geneve (not decoded); an abbreviated flight with no visible offer is unknown (abbreviated_without_offer)"},
	{"mercury/unit_tests/pcaps/geneve.pcap", "*", "id", "41 ids off", "id = stream + 1",
		"tshark numbers the TCP flows inside Geneve (client side only, e.g. the SSH flow tcp:0); we do not decode Geneve"},
	{"mercury/unit_tests/pcaps/tls_sgt.pcap", "*", "id", "56 ids off", "id = stream + 1",
		"Cisco MetaData frames (ethertype 0x8909, SGT) are not decoded: 6 TCP streams exist only inside them"},
	// QUIC and DTLS.
	{"mercury/unit_tests/pcaps/geneve.pcap", "*", "missing", "*", "*",
		"QUIC inside Geneve (UDP 6081), not decoded"},
	{"nDPI/quic_interop_V.pcapng", "*", "missing", "*", "*",
		"every client Initial has the reserved version 0x0a0a0a0a, to force Version Negotiation (RFC 9000, Section 15): Initial keys are version-specific, so none is decrypted (tshark tries version 1's salt on it)"},
	{"mercury/unit_tests/pcaps/quic-crypto-packets.pcap", "*", "missing", "*", "*",
		"Google QUIC T051 (version 0x54303531): its Initial salt is not read (IETF versions 1, 2, drafts 22-34 and mvfst are)"},
	{"nDPI/quic_t50.pcap", "udp:0/quic:0", "missing", "no conn", "full", "Google QUIC T050 (0x54303530): not read"},
	{"nDPI/quic_t51.pcap", "udp:0/quic:0", "missing", "no conn", "full", "Google QUIC T051 (0x54303531): not read"},
	{"nDPI/quic-mvfst-exp.pcap", "udp:0/quic:0", "missing", "no conn", "full",
		"mvfst's experimental version 0xfaceb00e: its Initials do not open with draft-29's salt, and its own is not known to us"},
	{"suricata-verify/tests/quic-retry/input.pcap", "udp:0/quic:0", "ch_frame", "6", "2",
		"after a Retry the client sends its ClientHello again under new keys (RFC 9001, Section 5.8): we give the one the server answered, gt.py the first"},
	{"suricata-verify/tests/quic-retry-multiple/input.pcap", "udp:0/quic:0", "ch_frame", "5", "2",
		"after a Retry the client sends its ClientHello again under new keys (RFC 9001, Section 5.8): we give the one the server answered, gt.py the first"},
	{"zeek/ppp/quic-interop-retry.pcap", "udp:0/quic:0", "ch_frame", "7", "5",
		"after a Retry the client sends its ClientHello again under new keys (RFC 9001, Section 5.8): we give the one the server answered, gt.py the first"},
	{"nDPI/quic-28.pcap", "udp:0/quic:0", "ch_frame", "3", "1",
		"after Version Negotiation the client sends its ClientHello again in draft-27 (RFC 9000, Section 6.2): we give the one the server answered, gt.py the first"},
	{"nDPI/dtls.pcap", "udp:2", "missing", "no conn", "incomplete", "DTLS inside GTP-U (UDP 2152), not decoded"},
	{"nDPI/capwap.pcap", "udp:3", "missing", "no conn", "full", "DTLS inside CAPWAP (a 4-byte preamble before the record, RFC 5415), not decoded"},
	{"nDPI/dtls_certificate.pcapng", "udp:0", "missing", "no conn", "full",
		"the capture starts at the server's Certificate flight: a DTLS flow is followed from the client's ClientHello only"},
	{"nDPI/stun_dtls_unidirectional_server.pcap", "udp:0", "missing", "no conn", "full",
		"only the server's side was captured: a DTLS flow is followed from the client's ClientHello only"},
	{"mercury/unit_tests/pcaps/tls_sgt.pcap", "*", "ch_frame", "*", "*",
		"the client's packets are Cisco MetaData frames (ethertype 0x8909, SGT), not decoded: no ClientHello, so no frame"},
	{"mercury/unit_tests/pcaps/geneve.pcap", "*", "ch_frame", "*", "*",
		"the client's packets are inside Geneve (UDP 6081), not decoded: no ClientHello, so no frame"},
	{"mercury/unit_tests/pcaps/capture2.pcap", "*", "sh_frame", "*", "*",
		"streams 100 and 101 have two SYN-ACKs with different ISNs and the ServerHello sent once for each (frames 2327 and 2328, 2778 and 2779): reassembly reads the first copy, tshark the one on the ISN the client acknowledged"},
	{"nDPI/tls_multiple_synack_different_seq.pcapng", "tcp:0", "sh_frame", "10", "6",
		"two SYN-ACKs with different ISNs: the ServerHello in frame 6 is on the ISN reassembly did not anchor on, its copy in frame 10 is read"},
	{"nDPI/openvpn_nohmac_tcp.pcapng", "tcp:0", "sh_frame", "16", "67",
		"TLS inside OpenVPN's control channel (its own framing and reliability layer, not decoded): the first plausible record is read, tshark decodes OpenVPN"},
	{"nDPI/openvpn.pcap", "tcp:0", "sh_frame", "37", "88",
		"TLS inside OpenVPN's control channel (its own framing and reliability layer, not decoded): the first plausible record is read, tshark decodes OpenVPN"},
	{"mercury/unit_tests/pcaps/openvpn_tcp_multi.pcap", "*", "sh_frame", "*", "*",
		"TLS inside OpenVPN's control channel (its own framing and reliability layer, not decoded): the first plausible record is read, tshark decodes OpenVPN"},
	{"zeek/tls/ssl-v2.pcap", "tcp:0", "sh_frame", "null", "6",
		"SSL 2.0 only: the server's SERVER-HELLO is SSLv2, which we do not parse"},
	{"nDPI/6in4tunnel.pcap", "tcp:1", "endpoints", "client [2001:470:1f17:13f:3e97:eff:fe73:4dec]:53234", "client 174.3.73.24:53234",
		"6in4: gt.py prints ip.src before ipv6.src, i.e. the outer IPv4 tunnel endpoints; we report the inner IPv6 ones (same ports)"},
	{"nDPI/6in4tunnel.pcap", "tcp:5", "endpoints", "client [2001:470:1f17:13f:3e97:eff:fe73:4dec]:60205", "client 174.3.73.24:60205",
		"6in4: gt.py prints ip.src before ipv6.src, i.e. the outer IPv4 tunnel endpoints; we report the inner IPv6 ones (same ports)"},

	// tshark's stream numbering counts things that are not connections.
	{"nDPI/6in4tunnel.pcap", "*", "id", "2 ids off", "id = stream + 1",
		"tcp:0 is the TCP header quoted in an ICMPv6 error (frame 3), which tshark numbers; we count TCP packets only"},
	{"nDPI/instagram.pcap", "*", "id", "10 ids off", "id = stream + 1",
		"tcp:10, 18, 19 are TCP headers quoted in ICMP errors (frames 341, 417, 439), which tshark numbers; we count TCP packets only"},
	{"nDPI/tls_heur__shadowsocks-tcp.pcapng", "*", "id", "1 ids off", "id = stream + 1",
		"tshark's SOCKS dissector allocates tcp.stream 2 for the proxied connection; no packet has it"},
	{"nDPI/tls_heur__trojan-tcp-tls.pcapng", "*", "id", "1 ids off", "id = stream + 1",
		"tshark's SOCKS dissector allocates tcp.stream 2 for the proxied connection; no packet has it"},
	{"nDPI/tls_heur__vmess-tcp-tls.pcapng", "*", "id", "1 ids off", "id = stream + 1",
		"tshark's SOCKS dissector allocates tcp.stream 2 for the proxied connection; no packet has it"},
	{"nDPI/tls_heur__vmess-tcp.pcapng", "*", "id", "1 ids off", "id = stream + 1",
		"tshark's SOCKS dissector allocates tcp.stream 2 for the proxied connection; no packet has it"},
	{"nDPI/tls_heur__vmess-websocket.pcapng", "*", "id", "1 ids off", "id = stream + 1",
		"tshark's SOCKS dissector allocates tcp.stream 2 for the proxied connection; no packet has it"},

	// TLS inside OpenVPN's TCP framing: not a TLS stream.
	{"nDPI/443-opvn.pcap", "tcp:0", "verdict", "full", "unknown",
		"OpenVPN on 1194: the P_CONTROL packet of frame 12 holds the ServerHello record and the start of a Certificate record: full is right; tshark's OpenVPN reassembly loses that record and sees only a CCS"},

	// Crafted or broken input.
	{"nDPI/heuristic_tcp_ack_payload.pcap", "tcp:2", "missing", "no conn", "incomplete",
		"ACKs carry 2 zero bytes at the hello's sequence number (overlap, different bytes); the first copy wins, the stream starts 00 00 and no hello is found (tshark finds none either)"},
	{"nDPI/heuristic_tcp_ack_payload.pcap", "tcp:3", "missing", "no conn", "incomplete",
		"ACKs carry 2 zero bytes at the hello's sequence number (overlap, different bytes); the first copy wins, the stream starts 00 00 and no hello is found (tshark finds none either)"},
	{"nDPI/heuristic_tcp_ack_payload.pcap", "tcp:4", "missing", "no conn", "incomplete",
		"SYN/ACK and ACKs carry 2 zero bytes at the hello's sequence number (overlap, different bytes); the first copy wins and no hello is found (tshark finds none either)"},
	{"nDPI/riot.pcapng", "tcp:0", "missing", "no conn", "incomplete",
		"the capture starts mid-handshake at the server's Certificate: no hello, so no conn (flows_without_hello); gt has no hello either"},

	// The ground truth is wrong.
	{"nDPI/KakaoTalk_chat.pcap", "tcp:2", "verdict", "full", "unknown",
		"a second SYN/ACK with another ISN (frame 46) makes tshark take the server flight for retransmissions and lose the ServerHello; we read ServerHello, Certificate, SKE, SHD: full"},

	// Out of scope.
	{"zeek/tls/ssl-v2.pcap", "tcp:0", "verdict", "unknown", "full",
		"SSL 2.0 only: the server answers with an SSLv2 SERVER-HELLO, which we do not parse (docs/design.md: only the SSLv2-compatible ClientHello); gt reads its session_id_hit=0"},
}

// corpusRow is one ground-truth handshake attempt.
type corpusRow map[string]string

func (r corpusRow) int(k string) int {
	n, _ := strconv.Atoi(r[k])
	return n
}

func (r corpusRow) tls13() bool {
	v := r["neg_version"]
	return v == "0x0304" || strings.HasPrefix(v, "0x7f") || strings.HasPrefix(v, "0x7e") ||
		strings.HasPrefix(v, "0xfb") || v == "0xfefc"
}

// inferred reports whether gt.py's TLS 1.2 decision rests only on the
// absence of server messages (nothing after the ServerHello was seen).
func (r corpusRow) inferred() bool {
	return strings.Contains(r["notes"], "-> inferred")
}

// chFrame is the frame of the (last) ClientHello, 0 when none was seen.
func (r corpusRow) chFrame() int {
	f := r["ch_frame"]
	if i := strings.LastIndexByte(f, ','); i >= 0 {
		f = f[i+1:]
	}
	n, _ := strconv.Atoi(f)
	return n
}

func readCorpusTSV(t *testing.T, name string) []corpusRow {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: empty", name)
	}
	var rows []corpusRow
	for _, rec := range recs[1:] {
		row := corpusRow{}
		for i, k := range recs[0] {
			if i < len(rec) {
				row[k] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// corpusCaptures returns the captures listed in MANIFEST.tsv.
func corpusCaptures(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range readCorpusTSV(t, filepath.Join(corpusDir, "MANIFEST.tsv")) {
		out = append(out, r["path"])
	}
	if len(out) == 0 {
		t.Fatal("no captures in MANIFEST.tsv")
	}
	return out
}

// corpusConn is a conn event as the corpus test reads it.
type corpusConn = event

func (c *corpusConn) verdict() string {
	if c.Resumption != nil {
		return c.Handshake + "/" + *c.Resumption
	}
	return c.Handshake
}

type corpusSummary struct {
	UDPFlows       int            `json:"udp_flows"`
	TLSConnections int            `json:"tls_connections"`
	Full           int            `json:"full"`
	Resumed        int            `json:"resumed"`
	Unknown        int            `json:"unknown"`
	Rejected       int            `json:"rejected_offers"`
	ByMethod       map[string]int `json:"by_method"`
}

// parseCorpusOutput checks that out is NDJSON ending with exactly one
// summary and returns the conn events and the summary.
func parseCorpusOutput(t *testing.T, out []byte) ([]*corpusConn, corpusSummary) {
	validateOutput(t, "output", out)
	t.Helper()
	var conns []*corpusConn
	var sum corpusSummary
	summaries := 0
	ids := map[int]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			t.Fatalf("line %d: not JSON: %v: %.200s", n, err, line)
		}
		if summaries > 0 {
			t.Fatalf("line %d: %q event after the summary", n, head.Type)
		}
		switch head.Type {
		case "conn":
			c := new(corpusConn)
			if err := json.Unmarshal(line, c); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			if ids[c.ID] {
				t.Errorf("line %d: conn id %d twice", n, c.ID)
			}
			ids[c.ID] = true
			conns = append(conns, c)
		case "session":
		case "summary":
			summaries++
			if err := json.Unmarshal(line, &sum); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
		default:
			t.Fatalf("line %d: unknown type %q", n, head.Type)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		t.Fatal("output does not end with a newline")
	}
	if summaries != 1 {
		t.Fatalf("%d summaries, want 1 as the last line", summaries)
	}
	if sum.Full+sum.Resumed+sum.Unknown != sum.TLSConnections || sum.TLSConnections != len(conns) {
		t.Errorf("summary: full %d + resumed %d + unknown %d, tls_connections %d, conn events %d",
			sum.Full, sum.Resumed, sum.Unknown, sum.TLSConnections, len(conns))
	}
	methods, rejected := 0, 0
	for _, n := range sum.ByMethod {
		methods += n
	}
	for _, c := range conns {
		if c.Rejected {
			rejected++
		}
	}
	if methods != sum.Resumed || rejected != sum.Rejected {
		t.Errorf("summary: by_method adds up to %d, resumed %d; rejected %d, rejected conns %d",
			methods, sum.Resumed, sum.Rejected, rejected)
	}
	return conns, sum
}

// corpusDisagreement is one difference between our output and the truth.
type corpusDisagreement struct {
	stream, check, got, want, detail string
}

// corpusStats counts what was compared, for the log.
type corpusStats struct {
	mu       sync.Mutex
	captures int
	attempts int
	checks   map[string][2]int // check -> agree, disagree
	extra    int               // conn events with no ground-truth row
}

func (s *corpusStats) add(check string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.checks[check]
	if ok {
		v[0]++
	} else {
		v[1]++
	}
	s.checks[check] = v
}

// expectedVerdict is the verdict docs/design.md's rules give for a ground-truth
// row: gt.py's decision, except where it rests on evidence docs/design.md calls weak.
func expectedVerdict(r corpusRow) string {
	switch r["decision"] {
	case "full":
		if r.inferred() {
			// docs/design.md: evidence that is only an absence is weak: unknown.
			return "unknown"
		}
		return "full"
	case "resumed_id":
		if r.inferred() {
			return "unknown"
		}
		return "resumed/session_id"
	case "resumed_ticket":
		if r.inferred() {
			return "unknown"
		}
		return "resumed/ticket"
	case "resumed_psk13":
		return "resumed/psk"
	case "abbreviated_unknown":
		// Abbreviated, but nothing offered that it could resume (no
		// ClientHello, or no ticket and no echo): docs/design.md has no mechanism
		// to name, so unknown.
		return "unknown"
	case "incomplete":
		return "unknown"
	}
	return "?" + r["decision"]
}

// assignedSIDs returns, for each row index, whether the row's ClientHello
// session ID was assigned by a server (TLS ≤ 1.2) earlier in the capture.
func assignedSIDs(rows []corpusRow) []bool {
	first := map[string]int{} // session ID -> ServerHello frame of its first assignment
	for _, r := range rows {
		sid, f := r["sh_sid"], r.int("sh_frame")
		if sid == "" || f == 0 || r.tls13() {
			continue
		}
		if (r["decision"] == "full" && sid != r["ch_sid"]) || r["decision"] == "resumed_id" {
			if g, ok := first[sid]; !ok || f < g {
				first[sid] = f
			}
		}
	}
	out := make([]bool, len(rows))
	for i, r := range rows {
		f, ok := first[r["ch_sid"]]
		out[i] = r["ch_sid"] != "" && ok && f < r.chFrame()
	}
	return out
}

func endpointPair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// normAddrPort rewrites tshark's "ip:port" (IPv6 without brackets) the way
// netip prints it.
func normAddrPort(s string) string {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s
	}
	a, err := netip.ParseAddr(s[:i])
	if err != nil {
		return s
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return s
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}

// compareCorpus compares one capture's output with its ground truth.
func compareCorpus(rows []corpusRow, conns []*corpusConn, stats *corpusStats, udpFlows int) (ds []corpusDisagreement, extra []*corpusConn) {
	add := func(d corpusDisagreement) { ds = append(ds, d) }
	byID := map[int]*corpusConn{}
	byPair := map[[2]string][]*corpusConn{}
	for _, c := range conns {
		byID[c.ID] = c
		p := endpointPair(c.Client.String(), c.Server.String())
		byPair[p] = append(byPair[p], c)
	}
	assigned := assignedSIDs(rows)
	streamConn := map[string]*corpusConn{} // ground-truth stream -> our conn
	used := map[int]bool{}
	var idOff []string

	// Match rows to conns first: resumes needs the origin's conn.
	type item struct {
		i int
		r corpusRow
		c *corpusConn
	}
	var items []item
	for i, r := range rows {
		if r["proto"] == "quic" || r["proto"] == "dtls" {
			// Over UDP: our ids count QUIC and DTLS flows, not every UDP
			// flow as udp.stream does; match by transport and addresses,
			// then by the ClientHello's frame.
			pair := endpointPair(normAddrPort(r["client"]), normAddrPort(r["server"]))
			var c *corpusConn
			for _, x := range byPair[pair] {
				if used[x.ID] || x.Transport != r["proto"] {
					continue
				}
				if c == nil || frameDist(x, r) < frameDist(c, r) {
					c = x
				}
			}
			stats.mu.Lock()
			stats.attempts++
			stats.mu.Unlock()
			if c == nil {
				stats.add("missing", false)
				add(corpusDisagreement{r["stream"], "missing", "no conn", r["decision"],
					fmt.Sprintf("%s %s -> %s", r["proto"], r["client"], r["server"])})
				continue
			}
			stats.add("missing", true)
			used[c.ID] = true
			streamConn[r["stream"]] = c
			items = append(items, item{i, r, c})
			continue
		}
		stream, ok := strings.CutPrefix(r["stream"], "tcp:")
		if !ok {
			continue // TLS over UDP that is neither
		}
		switch r["proto"] {
		case "tls", "sslv2-hello", "sslv2":
		default:
			continue
		}
		n, err := strconv.Atoi(stream)
		if err != nil {
			continue
		}
		pair := endpointPair(normAddrPort(r["client"]), normAddrPort(r["server"]))
		c := byID[n+1]
		if c == nil || endpointPair(c.Client.String(), c.Server.String()) != pair {
			// Fall back on the addresses: the unused conn on the same
			// 4-tuple whose id is closest.
			c = nil
			for _, x := range byPair[pair] {
				if used[x.ID] {
					continue
				}
				if c == nil || abs(x.ID-(n+1)) < abs(c.ID-(n+1)) {
					c = x
				}
			}
			if c == nil {
				// Then on the ports alone, when one conn has them:
				// gt.py prints the outer IPv4 addresses of a tunnel.
				var found []*corpusConn
				for _, x := range conns {
					if !used[x.ID] && endpointPair(strconv.Itoa(x.Client.Port), strconv.Itoa(x.Server.Port)) == endpointPair(port(r["client"]), port(r["server"])) {
						found = append(found, x)
					}
				}
				if len(found) == 1 {
					c = found[0]
				}
			}
			// Our ids count QUIC and DTLS flows in the same sequence as TCP
			// ones: with any of them in the capture, ids are not
			// tcp.stream + 1 and are not compared.
			if c != nil && udpFlows == 0 {
				stats.add("id", false)
				idOff = append(idOff, fmt.Sprintf("%s->%d", r["stream"], c.ID))
			}
		} else {
			stats.add("id", true)
		}
		stats.mu.Lock()
		stats.attempts++
		stats.mu.Unlock()
		if c == nil {
			stats.add("missing", false)
			add(corpusDisagreement{r["stream"], "missing", "no conn", r["decision"],
				fmt.Sprintf("%s -> %s", r["client"], r["server"])})
			continue
		}
		stats.add("missing", true)
		used[c.ID] = true
		streamConn[r["stream"]] = c
		items = append(items, item{i, r, c})
	}
	if len(idOff) > 0 {
		// One disagreement per capture: a stream numbered differently
		// shifts every later one.
		add(corpusDisagreement{"*", "id", fmt.Sprintf("%d ids off", len(idOff)), "id = stream + 1",
			"matched by address instead: " + strings.Join(idOff, " ")})
	}
	for _, c := range conns {
		if !used[c.ID] {
			stats.mu.Lock()
			stats.extra++
			stats.mu.Unlock()
			extra = append(extra, c)
		}
	}

	for _, it := range items {
		r, c, stream := it.r, it.c, it.r["stream"]
		detail := fmt.Sprintf("id %d %s -> %s, history %q, notes %v; gt: %s offered=%s offer_rejected=%s notes=%q",
			c.ID, c.Client, c.Server, c.History, c.Notes, r["decision"], r["offered"], r["offer_rejected"], r["notes"])

		// Endpoints: the client is who sent the ClientHello.
		if r["ch_frame"] != "" {
			ok := c.Client.String() == normAddrPort(r["client"])
			stats.add("endpoints", ok)
			if !ok {
				add(corpusDisagreement{stream, "endpoints", "client " + c.Client.String(), "client " + normAddrPort(r["client"]), detail})
			}
		}

		// TLS 1.3 compatibility-mode session ID echo is never a resumption.
		if r.tls13() && r["compat_sid"] == "1" && r["sh_psk"] != "1" {
			ok := c.Handshake != "resumed"
			stats.add("compat", ok)
			if !ok {
				add(corpusDisagreement{stream, "compat", c.verdict(), "not resumed", detail})
				continue
			}
		}

		// Frames: where the hellos were completed, as Wireshark numbers
		// them.
		for _, f := range []struct {
			check string
			got   *uint64
			want  string
		}{{"ch_frame", c.ClientHelloFrame, r["ch_frame"]}, {"sh_frame", c.ServerHelloFrame, r["sh_frame"]}} {
			if f.want == "" {
				continue
			}
			if i := strings.LastIndexByte(f.want, ','); i >= 0 {
				f.want = f.want[i+1:] // after a HelloRetryRequest: the second hello
			}
			got := "null"
			if f.got != nil {
				got = strconv.FormatUint(*f.got, 10)
			}
			ok := got == f.want
			stats.add(f.check, ok)
			if !ok {
				add(corpusDisagreement{stream, f.check, got, f.want, detail})
			}
		}

		want := expectedVerdict(r)
		ok := c.verdict() == want
		stats.add("verdict", ok)
		if !ok {
			add(corpusDisagreement{stream, "verdict", c.verdict(), want, detail})
			continue // the checks below depend on the verdict
		}

		// Rejected: an offer, then a full handshake.
		wantRej := false
		if want == "full" {
			switch r["offer_rejected"] {
			case "ticket", "ticket+sid", "psk":
				wantRej = true
			case "sid", "sid?":
				// Corpus README, "Note on offer_rejected=sid": only an
				// ID a server assigned earlier is an offer.
				wantRej = assigned[it.i]
			}
		}
		ok = c.Rejected == wantRej
		stats.add("rejected", ok)
		if !ok {
			add(corpusDisagreement{stream, "rejected", strconv.FormatBool(c.Rejected), strconv.FormatBool(wantRej), detail})
		}

		// Offered: what the ClientHello offered, as docs/design.md counts it.
		if r["ch_frame"] != "" {
			var wantOff []string
			switch {
			case r["neg_version"] == "":
				if r.int("ch_ticket_len") > 0 {
					wantOff = append(wantOff, "ticket")
				}
				if r.int("ch_psk_ids") > 0 {
					wantOff = append(wantOff, "psk")
				}
			case r.tls13():
				if r.int("ch_psk_ids") > 0 {
					wantOff = append(wantOff, "psk")
				}
			default:
				if r.int("ch_ticket_len") > 0 {
					wantOff = append(wantOff, "ticket")
				}
				if assigned[it.i] || want == "resumed/session_id" {
					wantOff = append(wantOff, "session_id")
				}
			}
			got := slices.Clone(c.Offered)
			slices.Sort(got)
			slices.Sort(wantOff)
			ok = slices.Equal(got, wantOff)
			stats.add("offered", ok)
			if !ok {
				add(corpusDisagreement{stream, "offered", strings.Join(got, "+"), strings.Join(wantOff, "+"), detail})
			}
		}

		// Resumes: TLS 1.2 links to an earlier connection of the capture.
		if (want == "resumed/session_id" || want == "resumed/ticket") && !r.tls13() {
			link := r["resumes"]
			wantRes := "null"
			if !strings.HasPrefix(link, "?") && link != "" {
				origin, _, _ := strings.Cut(link, "#")
				oc := streamConn[origin]
				if oc == nil {
					wantRes = "conn of " + origin
				} else {
					wantRes = strconv.Itoa(oc.ID)
				}
			}
			gotRes := "null"
			if c.Resumes != nil {
				gotRes = strconv.Itoa(*c.Resumes)
			}
			ok = gotRes == wantRes
			stats.add("resumes", ok)
			if !ok {
				add(corpusDisagreement{stream, "resumes", gotRes, wantRes, detail + " gt resumes=" + link})
			}
		}
	}
	return ds, extra
}

// port returns the port of tshark's "ip:port".
func port(s string) string {
	return s[strings.LastIndexByte(s, ':')+1:]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Fatal(err)
	}
	captures := corpusCaptures(t)
	exceptions := map[[3]string]*corpusException{}
	for i := range corpusExceptions {
		e := &corpusExceptions[i]
		k := [3]string{e.capture, e.stream, e.check}
		if exceptions[k] != nil {
			t.Fatalf("exception listed twice: %s %s %s", e.capture, e.stream, e.check)
		}
		if e.why == "" {
			t.Errorf("exception %s %s %s has no why", e.capture, e.stream, e.check)
		}
		if !slices.Contains(captures, e.capture) {
			t.Errorf("exception for %s: not in the corpus", e.capture)
		}
		exceptions[k] = e
	}
	stats := &corpusStats{checks: map[string][2]int{}}
	var mu sync.Mutex
	ran := map[string]bool{}
	hit := map[*corpusException]bool{}

	t.Run("captures", func(t *testing.T) {
		for _, capture := range captures {
			t.Run(strings.ReplaceAll(capture, "/", "__"), func(t *testing.T) {
				t.Parallel()
				mu.Lock()
				ran[capture] = true
				mu.Unlock()
				var ds []corpusDisagreement
				disagree := func(d corpusDisagreement) {
					e := exceptions[[3]string{capture, d.stream, d.check}]
					if e == nil || (e.got != "*" && (e.got != d.got || e.want != d.want)) {
						// A capture-wide cause (stream, got and want "*").
						e = exceptions[[3]string{capture, "*", d.check}]
						if e != nil && e.got != "*" {
							e = nil
						}
					}
					if e != nil {
						mu.Lock()
						hit[e] = true
						mu.Unlock()
						return
					}
					ds = append(ds, d)
				}
				defer func() {
					for _, d := range ds {
						t.Errorf("%s %s: we say %q, ground truth %q (%s)\n\t{%q, %q, %q, %q, %q, \"TODO\"},",
							d.stream, d.check, d.got, d.want, d.detail, capture, d.stream, d.check, d.got, d.want)
					}
				}()

				path := filepath.Join(corpusDir, filepath.FromSlash(capture))
				var stdout, stderr bytes.Buffer
				code := func() int {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("panic: %v\n%s", r, debug.Stack())
						}
					}()
					return run(context.Background(), []string{"-r", path}, nil, &stdout, &stderr)
				}()
				switch code {
				case 0:
				case 1:
					disagree(corpusDisagreement{"", "exit", "1", "0", stderr.String()})
				default:
					t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
				}
				conns, sum := parseCorpusOutput(t, stdout.Bytes())
				gt := strings.ReplaceAll(capture, "/", "__") + ".tsv"
				rows := readCorpusTSV(t, filepath.Join(corpusDir, "groundtruth", gt))
				found, extra := compareCorpus(rows, conns, stats, sum.UDPFlows)
				for _, d := range found {
					disagree(d)
				}
				for _, c := range extra {
					t.Logf("conn %d (%s -> %s, %s, %s) has no ground-truth row", c.ID, c.Client, c.Server, c.verdict(), c.History)
				}
				stats.mu.Lock()
				stats.captures++
				stats.mu.Unlock()
			})
		}
	})

	for i := range corpusExceptions {
		e := &corpusExceptions[i]
		if ran[e.capture] && !hit[e] {
			t.Errorf("exception no longer occurs (remove it): %s %s %s: got %q want %q", e.capture, e.stream, e.check, e.got, e.want)
		}
	}
	checks := slices.Sorted(maps.Keys(stats.checks))
	t.Logf("%d captures, %d TLS-over-TCP attempts, %d conn events without a ground-truth row", stats.captures, stats.attempts, stats.extra)
	for _, k := range checks {
		v := stats.checks[k]
		t.Logf("%-10s agree %4d, disagree %3d", k, v[0], v[1])
	}
}

// frameDist is how far c's ClientHello is from the row's, in frames.
func frameDist(c *corpusConn, r corpusRow) int {
	if c.ClientHelloFrame == nil {
		return 1 << 30
	}
	return abs(int(*c.ClientHelloFrame) - r.chFrame())
}
