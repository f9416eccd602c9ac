package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/internal/quicgen"
)

// TestQUICKeylogLinks runs every quicgen scenario with the clients' key
// log (WriteFiles writes it beside the pcap) and checks each QUIC
// connection against quic-go and the clients' session caches: every
// resumption resumes its session's origin and is issued_by the connection
// on which the client received the ticket it offered (quicgen's TicketFrom,
// from the cache wrapper's Put), early_data_accepted is quic-go's Used0RTT
// for the connections that sent 0-RTT, and a full handshake's Certificate
// is seen.
func TestQUICKeylogLinks(t *testing.T) {
	skipQUICGenUnderRace(t)
	for _, name := range quicgen.ScenarioNames() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name+".pcap")
			sc := quicgen.Scenarios()[name]
			truth, err := quicgen.WriteFiles(context.Background(), path, sc, quicgen.Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			keys := strings.TrimSuffix(path, ".pcap") + ".keylog"
			out, errs, code := runTool(t, "-r", path, "--keylog", keys)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			conns, _ := parseEvents(t, out)
			byClient := map[string]event{}
			for _, c := range conns {
				byClient[c.Client.String()] = c
			}
			flowOf := map[int]int{} // truth ID → conn event ID
			for _, tr := range truth {
				if c, ok := byClient[tr.Client.String()]; ok {
					flowOf[tr.ID] = c.ID
				}
			}
			resumed, linked := 0, 0
			for _, tr := range truth {
				d := sc.Steps[tr.Step].Damage
				// A duplicated datagram loses nothing: the connection is
				// read whole. Swapped ones lose nothing either, but can put
				// the ServerHello before the end of a ClientHello split
				// over two datagrams (the generator swaps after the fact):
				// see below.
				damaged := len(d.Drop)+len(d.Swap) > 0
				c, ok := byClient[tr.Client.String()]
				if !ok || c.Handshake == "unknown" {
					if !damaged {
						t.Errorf("truth conn %d: no verdict", tr.ID)
					}
					continue
				}
				if damaged {
					// A lost datagram may take the ClientHello or the
					// ServerHello: what is read must still never link
					// wrongly.
					// Once the ServerHello is read with keys, Handshake
					// packets that were swapped ahead of it are read too:
					// they are kept until the keys are known.
					if len(d.Drop) == 0 && c.Keys && !tr.Resumed && !strings.Contains(c.History, "c") {
						t.Errorf("conn %d (%s): keys, but no Certificate read (history %q)", c.ID, tr.Note, c.History)
					}
					if c.IssuedBy != nil && (!tr.Offered || *c.IssuedBy != flowOf[tr.TicketFrom]) {
						t.Errorf("conn %d (%s): issued_by %d, the client's cache says %d", c.ID, tr.Note, *c.IssuedBy, flowOf[tr.TicketFrom])
					}
					t.Logf("conn %d (%s): keys %v, history %q", c.ID, tr.Note, c.Keys, c.History)
					continue
				}
				if !c.Keys {
					t.Errorf("conn %d: keys false, the key log has client random %s", c.ID, tr.ClientRandom)
				}
				if has(c.Notes, "decrypt_failed") {
					t.Errorf("conn %d: decrypt_failed with the right keys", c.ID)
				}
				if !tr.Resumed && !strings.Contains(c.History, "c") {
					t.Errorf("conn %d: full handshake, no Certificate read (history %q)", c.ID, c.History)
				}
				if tr.ZeroRTTPackets > 0 {
					if c.EarlyDataAccepted == nil || *c.EarlyDataAccepted != tr.Used0RTT {
						t.Errorf("conn %d: early_data_accepted %v, quic-go's Used0RTT %v", c.ID, c.EarlyDataAccepted, tr.Used0RTT)
					}
				}
				if !tr.Resumed {
					continue
				}
				resumed++
				if got, want := deref(c.Resumes), flowOf[tr.Resumes]; got != want || want == 0 {
					t.Errorf("conn %d: resumes %d, the client's cache says origin %d (truth %d)", c.ID, got, want, tr.Resumes)
				}
				if got, want := deref(c.IssuedBy), flowOf[tr.TicketFrom]; got != want || want == 0 {
					t.Errorf("conn %d: issued_by %d, the client's cache says the ticket came on %d (truth %d)", c.ID, got, want, tr.TicketFrom)
				} else {
					linked++
				}
			}
			t.Logf("%d connections, %d resumed, %d linked to their issuer", len(truth), resumed, linked)
		})
	}
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestQUICKeylogTshark: in the captures whose pcapng secrets blocks hold
// the keys of their QUIC connections, the tickets each QUIC connection
// issued are the NewSessionTickets tshark decrypts with the same secrets
// (digest: the first 16 bytes of SHA-256 of tls.handshake.session_ticket),
// per client port.
func TestQUICKeylogTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed: the QUIC tickets are not checked against it")
	}
	for _, path := range []string{
		"../../capture/testdata/chrome-cloudflare-quic-with-secrets.pcapng",          // Chrome to Cloudflare, QUIC v1, two tickets
		"../../testdata/pcaps/corpus/nDPI/quic-v2.pcapng",                            // QUIC v2, one ticket
		"../../testdata/pcaps/corpus/nDPI/quic-33.pcapng",                            // the ticket's 1-RTT packet greases the fixed bit
		"../../testdata/pcaps/corpus/wireshark/quic-fragmented-handshakes.pcapng.gz", // draft-29, Retry, HelloRetryRequest, ChaCha20, two tickets
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s: %v", path, err)
			}
			b, err := exec.Command(tshark, "-n", "-r", path, "-Y", "quic && tls.handshake.type==4",
				"-T", "fields", "-E", "separator=/t", "-e", "udp.dstport", "-e", "tls.handshake.session_ticket").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			want := map[int][]string{} // client port → ticket digests
			n := 0
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				f := strings.Split(line, "\t")
				if len(f) != 2 {
					continue
				}
				port, _ := strconv.Atoi(strings.Split(f[0], ",")[0])
				for _, x := range strings.Split(f[1], ",") {
					raw, err := hex.DecodeString(x)
					if err != nil {
						t.Fatalf("tshark ticket %q: %v", x, err)
					}
					sum := sha256.Sum256(raw)
					want[port] = append(want[port], hex.EncodeToString(sum[:16]))
					n++
				}
			}
			if n == 0 {
				t.Fatal("tshark decrypted no QUIC NewSessionTicket")
			}
			out, errs, code := runTool(t, "-r", path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			got := map[int][]string{}
			for _, line := range strings.Split(out, "\n") {
				var c struct {
					Type, Transport string
					Client          endpoint
					Keys            bool
					Issued          []struct{ Kind, Digest string }
				}
				if json.Unmarshal([]byte(line), &c) != nil || c.Type != "conn" || c.Transport != "quic" {
					continue
				}
				for _, is := range c.Issued {
					if is.Kind == "psk" {
						got[c.Client.Port] = append(got[c.Client.Port], is.Digest)
					}
				}
			}
			if !maps.EqualFunc(got, want, slices.Equal) {
				t.Errorf("QUIC tickets by client port: ours %v, tshark %v", got, want)
			}
			t.Logf("%d tickets, as tshark", n)
		})
	}
}
