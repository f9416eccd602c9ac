package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/internal/tlsgen"
)

// generate writes a scenario's capture to a temporary file and returns its
// path and the truth the crypto/tls stacks reported.
func generate(t *testing.T, name string, opt tlsgen.Options) (string, []tlsgen.Conn) {
	t.Helper()
	sc, ok := tlsgen.Scenarios()[name]
	if !ok {
		t.Fatalf("no scenario %q", name)
	}
	path := filepath.Join(t.TempDir(), name+".pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := tlsgen.Generate(f, sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, truth
}

// checkAgainstTruth compares conn events with what crypto/tls reported:
// the verdict and method from DidResume, the offer and its rejection from
// the client's session cache, and the session links from which full
// handshake issued what the client offered.
func checkAgainstTruth(t *testing.T, conns []event, truth []tlsgen.Conn) {
	t.Helper()
	if len(conns) != len(truth) {
		t.Errorf("%d conn events, the stacks made %d TLS connections", len(conns), len(truth))
	}
	byID := map[int]event{}
	for _, c := range conns {
		byID[c.ID] = c
	}
	flowOf := map[int]int{} // truth ID -> flow number, which is our conn id
	for _, tr := range truth {
		flowOf[tr.ID] = tr.Flow
	}
	for _, tr := range truth {
		c, ok := byID[tr.Flow]
		if !ok {
			t.Errorf("truth conn %d (flow %d, %v -> %v): no conn event", tr.ID, tr.Flow, tr.Client, tr.Server)
			continue
		}
		if c.Client.Port != int(tr.Client.Port()) || c.Server.Port != int(tr.Server.Port()) {
			t.Errorf("conn %d: %v:%d -> %v:%d, truth %v -> %v", c.ID, c.Client.IP, c.Client.Port, c.Server.IP, c.Server.Port, tr.Client, tr.Server)
		}
		if c.Version != tr.Version || c.Handshake != tr.Handshake() {
			t.Errorf("conn %d: %s %s, DidResume says %s %s", c.ID, c.Version, c.Handshake, tr.Version, tr.Handshake())
			continue
		}
		method := ""
		if c.Resumption != nil {
			method = *c.Resumption
		}
		if method != tr.Method {
			t.Errorf("conn %d: resumed by %q, want %q", c.ID, method, tr.Method)
		}
		if c.Rejected != tr.Rejected {
			t.Errorf("conn %d: rejected %v, want %v", c.ID, c.Rejected, tr.Rejected)
		}
		if tr.Offered != (len(c.Offered) > 0) {
			t.Errorf("conn %d: offered %v, client offered a session: %v", c.ID, c.Offered, tr.Offered)
		}
		if !tr.Resumed {
			continue
		}
		switch {
		case tr.Version == "TLS 1.3" && !c.Keys:
			// Without keys, the session is named by the PSK identity the
			// client offered.
			if c.Session == nil || *c.Session != "psk:"+tr.Offer {
				t.Errorf("conn %d: session %v, want psk:%s", c.ID, c.Session, tr.Offer)
			}
		default:
			want := flowOf[tr.Resumes]
			if c.Resumes == nil || *c.Resumes != want {
				t.Errorf("conn %d: resumes %v, want conn %d", c.ID, c.Resumes, want)
			}
		}
	}
	// Connections that resumed one session (TLS 1.2, or TLS 1.3 read with
	// the key log: the same origin) share one session id.
	sessionOf := map[int]string{}
	for _, tr := range truth {
		c := byID[tr.Flow]
		if !tr.Resumed || (tr.Version != "TLS 1.2" && !c.Keys) || c.Session == nil {
			continue
		}
		if s, ok := sessionOf[tr.Session]; ok && s != *c.Session {
			t.Errorf("conn %d: session %s, another resumption of truth session %d got %s", c.ID, *c.Session, tr.Session, s)
		}
		sessionOf[tr.Session] = *c.Session
	}
}

// TestGeneratedScenarios runs every generator scenario, in pcap and pcapng,
// and checks each verdict against crypto/tls.
func TestGeneratedScenarios(t *testing.T) {
	for _, name := range tlsgen.ScenarioNames() {
		for _, ng := range []bool{false, true} {
			label := name
			if ng {
				label += "/pcapng"
			}
			t.Run(label, func(t *testing.T) {
				t.Parallel()
				path, truth := generate(t, name, tlsgen.Options{Seed: 1, Pcapng: ng})
				out, errs, code := runTool(t, "-r", path)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				conns, _ := parseEvents(t, out)
				checkAgainstTruth(t, conns, truth)
			})
		}
	}
}

// TestGeneratedFarms checks the farm findings (sessions issued by one
// server address and offered to another) against the generator's truth:
// which connection received the ticket each client offered, and whether
// the other server accepted it.
func TestGeneratedFarms(t *testing.T) {
	for _, name := range []string{"two-servers-shared-keys", "two-servers-different-keys", "mixed"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path, truth := generate(t, name, tlsgen.Options{Seed: 2})
			out, errs, code := runTool(t, "-r", path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			byID := map[int]tlsgen.Conn{}
			for _, c := range truth {
				byID[c.ID] = c
			}
			type pair struct{ issuer, acceptor string }
			want := map[pair][2]int{}
			for _, c := range truth {
				// TLS 1.3 tickets are encrypted: their issuer is not visible.
				if c.Version != "TLS 1.2" || !c.Offered || c.TicketFrom == 0 {
					continue
				}
				origin := byID[byID[c.TicketFrom].Session]
				if origin.Server == c.Server {
					continue
				}
				p := pair{origin.Server.String(), c.Server.String()}
				n := want[p]
				if c.Resumed {
					n[0]++
				} else {
					n[1]++
				}
				want[p] = n
			}
			var sum struct {
				Farms []struct {
					Issuer, Acceptor   endpoint
					Accepted, Rejected int
				} `json:"farms"`
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
				t.Fatal(err)
			}
			got := map[pair][2]int{}
			for _, f := range sum.Farms {
				got[pair{f.Issuer.String(), f.Acceptor.String()}] = [2]int{f.Accepted, f.Rejected}
			}
			if name != "mixed" && len(want) == 0 {
				t.Fatal("the scenario offers no session across servers")
			}
			if !maps.Equal(got, want) {
				t.Errorf("farm pairs (accepted, rejected):\n got %v\nwant %v", got, want)
			}
		})
	}
}
