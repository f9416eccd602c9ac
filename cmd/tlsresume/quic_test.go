package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quic-go/quic-go"

	"github.com/tlsresume/tlsresume/internal/quicgen"
)

// TestQUICTruth runs every quicgen scenario (quic-go client and server,
// real handshakes, written to pcap) and checks each QUIC connection
// against what quic-go reported: DidResume, the offer the client's cache
// made, Retry, the version, the 0-RTT packets it sent, and for the damaged
// capture that a lost or reordered Initial never makes a wrong verdict.
func TestQUICTruth(t *testing.T) {
	skipQUICGenUnderRace(t)
	for _, name := range quicgen.ScenarioNames() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name+".pcap")
			truth, err := quicgen.WriteFiles(context.Background(), path, quicgen.Scenarios()[name], quicgen.Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			out, errs, code := runTool(t, "-r", path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			conns, _ := parseEvents(t, out)
			if name != "damaged" {
				checkEarlyDataFinding(t, out, truth)
			}
			byClient := map[string]event{}
			for _, c := range conns {
				if c.Transport != "quic" {
					t.Errorf("conn %d: transport %q", c.ID, c.Transport)
				}
				byClient[c.Client.String()] = c
			}
			for _, tr := range truth {
				// The "damaged" scenario drops and reorders datagrams in
				// the capture (quicgen's Damage), not on the wire.
				damaged := name == "damaged"
				c, ok := byClient[tr.Client.String()]
				if !ok {
					if damaged {
						// The capture lost the client's first Initial: the
						// ClientHello's first bytes are gone, so there is
						// no hello and no verdict (tshark misses it too).
						t.Logf("truth conn %d (%s): no conn event", tr.ID, tr.Note)
						continue
					}
					t.Errorf("truth conn %d (%v -> %v): no conn event", tr.ID, tr.Client, tr.Server)
					continue
				}
				wantHS := "full"
				if tr.Resumed {
					wantHS = "resumed"
				}
				if c.Handshake != wantHS && !(damaged && c.Handshake == "unknown") {
					t.Errorf("conn %d: %s, quic-go's DidResume says %s (%s)", c.ID, c.Handshake, wantHS, tr.Note)
				}
				if c.Handshake == "unknown" {
					continue
				}
				if got := len(c.Offered) > 0; got != tr.Offered {
					t.Errorf("conn %d: offered %v, the client's cache offered: %v", c.ID, c.Offered, tr.Offered)
				}
				if c.Rejected != tr.Rejected() {
					t.Errorf("conn %d: rejected %v, truth %v", c.ID, c.Rejected, tr.Rejected())
				}
				if got, want := c.QUICVersion, quicName(tr.Version); got == nil || *got != want {
					t.Errorf("conn %d: quic_version %v, quic-go negotiated %s", c.ID, c.QUICVersion, want)
				}
				if c.Retry != tr.Retry {
					t.Errorf("conn %d: retry %v, truth %v", c.ID, c.Retry, tr.Retry)
				}
				// zero_rtt_packets counts the 0-RTT packets captured
				// before the verdict (README): a client still sending
				// 0-RTT after the server's first flight reached the
				// capture sends more than that, as happens under load.
				// None, or more than the client sent, is always wrong.
				if got, sent := c.ZeroRTTPackets, tr.ZeroRTTPackets; !damaged && (got > sent || (sent > 0) != (got > 0)) {
					t.Errorf("conn %d: %d 0-RTT packets, the client's qlog says it sent %d", c.ID, got, sent)
				}
				if c.EarlyData != (tr.ZeroRTTPackets > 0) {
					t.Errorf("conn %d: early_data %v, the client sent %d 0-RTT packets", c.ID, c.EarlyData, tr.ZeroRTTPackets)
				}
			}
		})
	}
}

func quicName(v quic.Version) string {
	switch v {
	case quic.Version1:
		return "QUICv1"
	case quic.Version2:
		return "QUICv2"
	}
	return v.String()
}

// checkEarlyDataFinding: the summary's early_data findings count, per
// server, the connections whose client sent 0-RTT packets (quic-go's
// qlog), and name no server that had none.
func checkEarlyDataFinding(t *testing.T, out string, truth []quicgen.Conn) {
	t.Helper()
	want := map[string]int{}
	for _, tr := range truth {
		if tr.ZeroRTTPackets > 0 {
			want[tr.Server.String()]++
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum struct {
		Findings []struct {
			Kind     string
			Server   endpoint
			Evidence struct{ Offered int }
		}
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range sum.Findings {
		if f.Kind == "early_data" {
			got[f.Server.String()] = f.Evidence.Offered
		}
	}
	for srv, n := range want {
		if got[srv] < n {
			t.Errorf("server %s: early_data finding counts %d offers, the clients sent 0-RTT on %d", srv, got[srv], n)
		}
	}
	for srv := range got {
		if want[srv] == 0 {
			t.Errorf("server %s: early_data finding, but no client sent 0-RTT there", srv)
		}
	}
}

// skipQUICGenUnderRace skips a test that makes traffic with quic-go when
// the race detector is on: quic-go v0.65.0 races with itself when a
// client opens a stream on a 0-RTT connection while the handshake
// applies the server's transport parameters (connection.go:2460 against
// :3028, seen in .ci/run). The test runs in the plain go test ./...;
// .ci/run leaves internal/quicgen out of its -race pass for the same
// reason.
func skipQUICGenUnderRace(t *testing.T) {
	t.Helper()
	if raceDetector {
		t.Skip("quic-go v0.65.0 has a data race of its own in 0-RTT stream opening; this test runs without -race")
	}
}
