package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/internal/tlsgen"
)

// generateWithKeys makes a scenario's capture and the clients' key log
// (crypto/tls Config.KeyLogWriter).
func generateWithKeys(t *testing.T, name string) (pcap, keys string, truth []tlsgen.Conn) {
	t.Helper()
	var kl bytes.Buffer
	pcap, truth = generate(t, name, tlsgen.Options{Seed: 1, KeyLog: &kl})
	keys = filepath.Join(t.TempDir(), name+".keylog")
	if err := os.WriteFile(keys, kl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if kl.Len() == 0 {
		t.Fatal("the clients logged no secrets")
	}
	return pcap, keys, truth
}

// TestKeylogLinks: with the clients' key log, every resumption (TLS 1.3
// included) points at its session's origin and at the connection that
// issued the ticket it used, as the clients' session caches recorded
// (tlsgen's truth: Resumes and TicketFrom), and the tickets' ages match
// the time between issue and use.
func TestKeylogLinks(t *testing.T) {
	for _, name := range tlsgen.ScenarioNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pcap, keys, truth := generateWithKeys(t, name)
			out, errs, code := runTool(t, "-r", pcap, "--keylog", keys)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			conns, _ := parseEvents(t, out)
			checkAgainstTruth(t, conns, truth)
			flowOf := map[int]int{}
			for _, tr := range truth {
				flowOf[tr.ID] = tr.Flow
			}
			byID := map[int]event{}
			for _, c := range conns {
				byID[c.ID] = c
			}
			tls13 := 0
			for _, tr := range truth {
				c := byID[tr.Flow]
				if tr.Version == "TLS 1.3" {
					tls13++
					if !c.Keys {
						t.Errorf("conn %d: TLS 1.3 without keys", c.ID)
					}
				}
				if !tr.Resumed {
					continue
				}
				if got, want := deref(c.Resumes), flowOf[tr.Resumes]; got != want {
					t.Errorf("conn %d (%s): resumes %d, the client's cache says origin %d", c.ID, tr.Version, got, want)
				}
				if got, want := deref(c.IssuedBy), flowOf[tr.TicketFrom]; got != want {
					t.Errorf("conn %d (%s): issued_by %d, the client's cache says the ticket came on %d", c.ID, tr.Version, got, want)
				}
				if tr.Version == "TLS 1.3" {
					// Go's client reports the age in whole milliseconds from
					// the ticket's receipt (handshake_client_tls13.go); our
					// age comes from the wire. Between issue and use lie the
					// steps of the scenario: the age is at most that.
					from := truthByID(truth, tr.TicketFrom)
					if c.TicketAge == nil {
						t.Errorf("conn %d: no ticket age", c.ID)
					} else if span := tr.Start.Sub(from.Start).Seconds(); *c.TicketAge < 0 || *c.TicketAge > span+1 {
						t.Errorf("conn %d: ticket age %.3f s, the ticket was issued %.3f s before", c.ID, *c.TicketAge, span)
					}
				}
			}
			t.Logf("%d connections, %d TLS 1.3", len(truth), tls13)
		})
	}
}

func truthByID(truth []tlsgen.Conn, id int) tlsgen.Conn {
	for _, tr := range truth {
		if tr.ID == id {
			return tr
		}
	}
	return tlsgen.Conn{}
}

// keyed matches what the key log adds to a conn event.
var keyed = regexp.MustCompile(`,"issued_by":(null|[0-9]+),"ticket_age":(null|[0-9.e+-]+),"keys":(true|false),"early_data_accepted":(null|true|false)`)

// TestKeylogWrong: with wrong keys (every secret altered), the output is
// exactly the keyless one, but for the keys fields, a decrypt_failed note
// and the counted failures: never a wrong link.
func TestKeylogWrong(t *testing.T) {
	pcap, keys, _ := generateWithKeys(t, "tls13-psk")
	keyless, _, code := runTool(t, "-r", pcap)
	if code != 0 {
		t.Fatal("keyless run failed")
	}
	b, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		sec, _ := hex.DecodeString(f[2])
		sec[0] ^= 0xff
		bad = append(bad, f[0]+" "+f[1]+" "+hex.EncodeToString(sec))
	}
	wrong := filepath.Join(t.TempDir(), "wrong.keylog")
	if err := os.WriteFile(wrong, []byte(strings.Join(bad, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runTool(t, "-r", pcap, "--keylog", wrong)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `"decrypt_failures":`) || strings.Contains(out, `"decrypt_failures":0,`) {
		t.Errorf("no decryption failure counted")
	}
	norm := func(s string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if strings.HasPrefix(l, `{"type":"summary"`) {
				continue // its counters say what the keys did
			}
			l = keyed.ReplaceAllString(l, "")
			l = strings.ReplaceAll(l, `,"decrypt_failed"`, "")
			l = strings.ReplaceAll(l, `"decrypt_failed",`, "")
			l = strings.ReplaceAll(l, `["decrypt_failed"]`, "[]")
			out = append(out, l)
		}
		return out
	}
	a, w := norm(keyless), norm(out)
	if len(a) != len(w) {
		t.Fatalf("%d events without keys, %d with wrong keys", len(a), len(w))
	}
	for i := range a {
		if a[i] != w[i] {
			t.Errorf("event %d differs with wrong keys:\n  keyless %s\n  wrong   %s", i+1, a[i], w[i])
		}
	}
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
