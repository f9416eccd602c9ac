package tlsgen

import (
	"bytes"
	"go/parser"
	"go/token"
	"net/netip"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

type tally struct {
	conns, full, ticket, psk, rejected, hrr, plain, udp int
}

func count(conns []Conn) tally {
	var n tally
	n.conns = len(conns)
	for _, c := range conns {
		switch {
		case !c.Resumed:
			n.full++
		case c.Method == "ticket":
			n.ticket++
		case c.Method == "psk":
			n.psk++
		}
		if c.Rejected {
			n.rejected++
		}
		if c.HRR {
			n.hrr++
		}
	}
	return n
}

// What each named scenario is meant to produce, as crypto/tls itself reports it.
var want = map[string]tally{
	"tls12-tickets":              {conns: 4, full: 1, ticket: 3},
	"tls13-psk":                  {conns: 5, full: 1, psk: 4},
	"rejected-after-key-change":  {conns: 12, full: 4, ticket: 4, psk: 4, rejected: 2},
	"hrr":                        {conns: 5, full: 2, psk: 3, hrr: 3},
	"concurrent":                 {conns: 80, full: 20, ticket: 30, psk: 30},
	"ipv6":                       {conns: 9, full: 3, ticket: 2, psk: 4, hrr: 3, plain: 1},
	"two-servers-shared-keys":    {conns: 8, full: 2, ticket: 3, psk: 3},
	"two-servers-different-keys": {conns: 10, full: 6, ticket: 2, psk: 2, rejected: 4},
	"ticket-chain":               {conns: 14, full: 3, ticket: 8, psk: 3},
	"mixed":                      {conns: 147, full: 42, ticket: 52, psk: 53, rejected: 6, hrr: 6, plain: 6, udp: 8},
}

func generate(t *testing.T, name string, opt Options) ([]Conn, []byte) {
	t.Helper()
	sc, ok := Scenarios()[name]
	if !ok {
		t.Fatalf("no scenario %q", name)
	}
	var buf bytes.Buffer
	conns, err := Generate(&buf, sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	return conns, buf.Bytes()
}

func TestScenarios(t *testing.T) {
	names := ScenarioNames()
	if len(names) != len(want) {
		t.Errorf("%d scenarios, %d expectations", len(names), len(want))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			conns, data := generate(t, name, Options{Seed: 1})
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			sum := checkCapture(t, readCapture(t, data, false))
			got := count(conns)
			got.plain = checkTruthMatchesCapture(t, conns, sum)
			got.udp = sum.udp
			if got != want[name] {
				t.Errorf("got %+v\nwant %+v", got, want[name])
			}
			checkConsistent(t, conns, true)
		})
	}
}

// checkConsistent checks the relations between the truth fields. everyIssued: every
// connection used a session cache, so the client stored the ticket crypto/tls sends.
func checkConsistent(t *testing.T, conns []Conn, everyIssued bool) {
	t.Helper()
	for _, c := range conns {
		if c.Rejected != (c.Offered && !c.Resumed) {
			t.Errorf("conn %d: rejected=%v offered=%v resumed=%v", c.ID, c.Rejected, c.Offered, c.Resumed)
		}
		if c.Offered != (c.Offer != "") || c.Offered != (c.TicketFrom != 0) {
			t.Errorf("conn %d: offered=%v offer=%q ticket_from=%d", c.ID, c.Offered, c.Offer, c.TicketFrom)
		}
		if c.Resumed {
			o := conns[c.Resumes-1]
			if c.Resumes != c.Session || o.Resumed || o.ID >= c.ID || o.SNI != c.SNI || o.Version != c.Version {
				t.Errorf("conn %d resumes %d: %+v", c.ID, c.Resumes, o)
			}
		} else if c.Resumes != 0 || c.Session != c.ID || c.Method != "" {
			t.Errorf("conn %d: full handshake with resumes=%d session=%d method=%q", c.ID, c.Resumes, c.Session, c.Method)
		}
		if c.Offered {
			from := conns[c.TicketFrom-1]
			if !contains(from.Issued, c.Offer) {
				t.Errorf("conn %d offers %s, which conn %d did not receive", c.ID, c.Offer, from.ID)
			}
		}
		if len(c.Issued) > 1 || (everyIssued && len(c.Issued) != 1) {
			t.Errorf("conn %d: %d tickets issued, crypto/tls sends one", c.ID, len(c.Issued))
		}
		if (c.Version == "TLS 1.3") != (c.Method == "psk" || !c.Resumed) && c.Resumed {
			t.Errorf("conn %d: %s resumed by %s", c.ID, c.Version, c.Method)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func byNote(conns []Conn, sub string) []Conn {
	var out []Conn
	for _, c := range conns {
		if strings.Contains(c.Note, sub) {
			out = append(out, c)
		}
	}
	return out
}

func TestRejectedAfterKeyChange(t *testing.T) {
	conns, _ := generate(t, "rejected-after-key-change", Options{Seed: 2})
	old := byNote(conns, "old keys")
	if len(old) != 2 {
		t.Fatalf("%d offers under old keys", len(old))
	}
	for _, c := range conns {
		isOld := strings.Contains(c.Note, "old keys")
		if c.Rejected != isOld {
			t.Errorf("conn %d (%s): rejected=%v", c.ID, c.Note, c.Rejected)
		}
		if isOld && (!c.Offered || c.Session != c.ID) {
			t.Errorf("conn %d: %+v", c.ID, c)
		}
	}
	// After the rejection the client resumes the new session.
	for _, o := range old {
		for _, c := range conns {
			if c.Client.Addr() == o.Client.Addr() && c.Start.After(o.Start) && c.Resumes != o.ID {
				t.Errorf("conn %d resumes %d, want %d", c.ID, c.Resumes, o.ID)
			}
		}
	}
}

func TestTwoServers(t *testing.T) {
	for _, shared := range []bool{true, false} {
		name := "two-servers-different-keys"
		if shared {
			name = "two-servers-shared-keys"
		}
		t.Run(name, func(t *testing.T) {
			conns, _ := generate(t, name, Options{Seed: 3})
			for _, c := range conns {
				if c.ID <= 2 { // the first connection of each client, to A
					if c.ServerName != "A" || c.Offered {
						t.Errorf("conn %d: %+v", c.ID, c)
					}
					continue
				}
				if !c.Offered {
					t.Errorf("conn %d offered nothing", c.ID)
				}
				from := conns[c.TicketFrom-1]
				cross := from.ServerName != c.ServerName
				if shared && !c.Resumed {
					t.Errorf("conn %d to %s: not resumed with shared keys", c.ID, c.ServerName)
				}
				if !shared && c.Resumed == cross {
					t.Errorf("conn %d to %s with a ticket from %s: resumed=%v", c.ID, c.ServerName, from.ServerName, c.Resumed)
				}
			}
			if !shared {
				var b []Conn
				for _, c := range conns {
					if c.ServerName == "B" {
						b = append(b, c)
					}
				}
				if len(b) != 4 || !b[0].Rejected || !b[1].Rejected {
					t.Errorf("B's first connections were not rejected: %+v", b)
				}
			}
		})
	}
}

func TestTicketChain(t *testing.T) {
	conns, _ := generate(t, "ticket-chain", Options{Seed: 4})
	var chain []Conn
	for _, c := range conns {
		if c.SNI == "chain.example.com" {
			chain = append(chain, c)
		}
	}
	if len(chain) != 5 {
		t.Fatalf("chain has %d connections", len(chain))
	}
	for i, c := range chain[1:] {
		prev := chain[i]
		// crypto/tls's TLS 1.2 server sends a new ticket on every resumption, and the client
		// offers the newest one next.
		if !c.Resumed || c.TicketFrom != prev.ID || c.Offer != prev.Issued[0] || c.Resumes != chain[0].ID {
			t.Errorf("chain link %d: %+v (previous %+v)", i+1, c, prev)
		}
	}
	for _, tc := range []struct {
		note string
		n    int
	}{{"same ticket at once", 4}, {"same PSK identity at once", 3}} {
		fan := byNote(conns, tc.note)
		if len(fan) != tc.n {
			t.Fatalf("%s: %d connections", tc.note, len(fan))
		}
		for _, c := range fan {
			if !c.Resumed || c.Offer != fan[0].Offer || c.TicketFrom != fan[0].TicketFrom {
				t.Errorf("%s: %+v", tc.note, c)
			}
		}
	}
}

func TestConcurrentInterleaves(t *testing.T) {
	conns, data := generate(t, "concurrent", Options{Seed: 5})
	sum := checkCapture(t, readCapture(t, data, false))
	open := 0
	for _, f := range sum.flows {
		n := 0
		for _, g := range sum.flows {
			if g.first <= f.first && f.first <= g.last {
				n++
			}
		}
		open = max(open, n)
	}
	if open < 10 {
		t.Errorf("at most %d connections open at once", open)
	}
	if len(conns) != 80 {
		t.Errorf("%d conns", len(conns))
	}
}

func TestPcapng(t *testing.T) {
	conns, data := generate(t, "tls13-psk", Options{Seed: 6, Pcapng: true})
	sum := checkCapture(t, readCapture(t, data, true))
	checkTruthMatchesCapture(t, conns, sum)
}

// Apart from the bytes that crypto/tls draws from crypto/rand, a seed gives the same capture.
// ECDSA signatures vary in length by a byte or two, which could change the number of segments
// of a flight; with a large MSS every write is one segment, so the timestamps must not move.
func TestDeterministic(t *testing.T) {
	layout := func() ([]Conn, []string) {
		conns, data := generate(t, "mixed", Options{Seed: 7, MSS: 9000})
		var l []string
		for _, p := range readCapture(t, data, false) {
			l = append(l, p.ci.Timestamp.Format(time.RFC3339Nano))
		}
		for i := range conns {
			conns[i].Offer, conns[i].Issued = "", nil
		}
		return conns, l
	}
	c1, l1 := layout()
	c2, l2 := layout()
	if !reflect.DeepEqual(c1, c2) {
		t.Error("truth differs between runs")
	}
	if !reflect.DeepEqual(l1, l2) {
		for i := range min(len(l1), len(l2)) {
			if l1[i] != l2[i] {
				t.Errorf("packet %d: %s vs %s", i+1, l1[i], l2[i])
				break
			}
		}
		t.Errorf("capture layout differs between runs (%d and %d packets)", len(l1), len(l2))
	}
}

func TestOptions(t *testing.T) {
	start := time.Date(2099, 5, 6, 7, 8, 9, 0, time.UTC)
	conns, data := generate(t, "ipv6", Options{Seed: 8, Start: start, MSS: 536, RTT: 100 * time.Millisecond})
	pkts := readCapture(t, data, false)
	checkCapture(t, pkts)
	if !pkts[0].ci.Timestamp.Equal(start) || !conns[0].Start.Equal(start) {
		t.Errorf("first packet at %v, want %v", pkts[0].ci.Timestamp, start)
	}
	for _, p := range pkts {
		if n := len(p.pkt.TransportLayer().LayerPayload()); n > 536 {
			t.Fatalf("payload of %d bytes with MSS 536", n)
		}
	}
	if got := count(conns); got.full != 3 {
		t.Errorf("RTT 100ms: %+v", got)
	}
}

func TestDamage(t *testing.T) {
	_, clean := generate(t, "tls12-tickets", Options{Seed: 9})
	n := len(readCapture(t, clean, false))
	for _, tc := range []struct {
		name  string
		d     Damage
		check func(t *testing.T, pkts []capPacket)
	}{
		{"snaplen", Damage{Snaplen: 96}, func(t *testing.T, pkts []capPacket) {
			cut := 0
			for _, p := range pkts {
				if p.ci.CaptureLength > 96 {
					t.Fatalf("captured %d bytes", p.ci.CaptureLength)
				}
				if p.ci.Length > p.ci.CaptureLength {
					cut++
				}
			}
			if cut == 0 {
				t.Error("nothing cut")
			}
		}},
		{"skip", Damage{SkipFirst: 10}, func(t *testing.T, pkts []capPacket) {
			if len(pkts) != n-10 {
				t.Errorf("%d packets, want %d", len(pkts), n-10)
			}
		}},
		{"loss", Damage{Loss: 0.2}, func(t *testing.T, pkts []capPacket) {
			if len(pkts) >= n || len(pkts) < n/2 {
				t.Errorf("%d of %d packets", len(pkts), n)
			}
		}},
		{"retransmit", Damage{Retransmit: 0.5}, func(t *testing.T, pkts []capPacket) {
			if len(pkts) <= n {
				t.Errorf("%d packets, clean has %d", len(pkts), n)
			}
		}},
		{"reorder", Damage{Reorder: 0.5}, func(t *testing.T, pkts []capPacket) {
			if len(pkts) != n {
				t.Errorf("%d packets, want %d", len(pkts), n)
			}
		}},
		{"one-byte", Damage{OneByte: true}, func(t *testing.T, pkts []capPacket) {
			for _, p := range pkts {
				if len(p.pkt.TransportLayer().LayerPayload()) > 1 {
					t.Fatal("segment with more than one byte")
				}
			}
			// Undamaged otherwise: the TCP checks still hold.
			checkCapture(t, pkts)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns, data := generate(t, "tls12-tickets", Options{Seed: 9, Damage: tc.d})
			if got := count(conns); got != want["tls12-tickets"] {
				t.Errorf("damage changed the truth: %+v", got)
			}
			tc.check(t, readCapture(t, data, false))
		})
	}
}

func TestTruthRoundTrip(t *testing.T) {
	conns, _ := generate(t, "ticket-chain", Options{Seed: 10})
	var buf bytes.Buffer
	if err := WriteTruth(&buf, conns); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "id\tflow\t") {
		t.Errorf("no header: %q", buf.String()[:40])
	}
	got, err := ReadTruth(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range conns {
		conns[i].Start = conns[i].Start.UTC()
	}
	if !reflect.DeepEqual(got, conns) {
		t.Errorf("round trip:\n%+v\n%+v", got[0], conns[0])
	}
}

func TestBadScenario(t *testing.T) {
	s := Server{Name: "s", Addr: ap("192.0.2.1:443")}
	for _, sc := range []Scenario{
		{Name: "dup", Servers: []Server{s, s}},
		{Name: "unknown-server", Steps: []Step{{Server: "x", Client: v4("198.51.100.1")}}},
		{Name: "no-client", Servers: []Server{s}, Steps: []Step{{Server: "s"}}},
		{Name: "family", Servers: []Server{s}, Steps: []Step{{Server: "s", Client: netipMust("2001:db8::1")}}},
		{Name: "no-dest", Steps: []Step{{Kind: UDP, Client: v4("198.51.100.1")}}},
	} {
		if _, err := Generate(&bytes.Buffer{}, sc, Options{}); err == nil {
			t.Errorf("%s: no error", sc.Name)
		}
	}
}

// The generator is the independent source of truth: it must not share code with the analyzer.
func TestNoModuleImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/tlsresume/") || strings.HasPrefix(p, "github.com/google/gopacket") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }

// A handshake that fails is an error of the scenario, and must not hang the generator.
func TestHandshakeFailure(t *testing.T) {
	sc := Scenario{
		Name:    "version-mismatch",
		Servers: []Server{{Name: "s", Addr: ap("192.0.2.1:443"), MinVersion: 0x0304}},
		Steps:   []Step{{Server: "s", Client: v4("198.51.100.1"), MaxVersion: 0x0303}},
	}
	done := make(chan error, 1)
	go func() {
		_, err := Generate(&bytes.Buffer{}, sc, Options{})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "handshake") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("generator hangs on a failed handshake")
	}
}

// Many overlapping connections: the capture streams out, memory holds only the open ones.
func BenchmarkGenerate(b *testing.B) {
	sc := Scenarios()["concurrent"]
	for b.Loop() {
		var n countWriter
		if _, err := Generate(&n, sc, Options{Seed: 1}); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(n))
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
