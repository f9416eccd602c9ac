package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const pcapDir = "../../testdata/pcaps"
const goldenDir = "../../testdata/golden"

// runTool runs the command in-process and returns stdout, stderr and the
// exit code.
func runTool(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// event is the union of the fields the tests read.
type event struct {
	Type       string   `json:"type"`
	ID         int      `json:"id"`
	Transport  string   `json:"transport"`
	Client     endpoint `json:"client"`
	Server     endpoint `json:"server"`
	Version    string   `json:"version"`
	Handshake  string   `json:"handshake"`
	Resumption *string  `json:"resumption"`
	Offered    []string `json:"offered"`
	Rejected   bool     `json:"rejected"`
	Session    *string  `json:"session"`
	Resumes    *int     `json:"resumes"`
	History    string   `json:"history"`
	Notes      []string `json:"notes"`

	ClientHelloFrame *uint64 `json:"client_hello_frame"`
	ServerHelloFrame *uint64 `json:"server_hello_frame"`

	IssuedBy          *int     `json:"issued_by"`
	Keys              bool     `json:"keys"`
	TicketAge         *float64 `json:"ticket_age"`
	EarlyData         bool     `json:"early_data"`
	EarlyDataAccepted *bool    `json:"early_data_accepted"`
	QUICVersion       *string  `json:"quic_version"`
	Retry             bool     `json:"retry"`
	ZeroRTTPackets    int      `json:"zero_rtt_packets"`
}

// summaryEvent is the part of the summary the tests read.
type summaryEvent struct {
	TLSConnections int `json:"tls_connections"`
	Full           int `json:"full"`
	Resumed        int `json:"resumed"`
	Unknown        int `json:"unknown"`
	Rejected       int `json:"rejected_offers"`
}

type endpoint struct {
	IP   string `json:"ip"`
	Port int    `json:"port"`
}

// String is ip:port, with brackets for IPv6.
func (e endpoint) String() string {
	return netip.AddrPortFrom(netip.MustParseAddr(e.IP), uint16(e.Port)).String()
}

// parseEvents parses NDJSON and checks its shape: every line an object
// with a type, the summary last and only last.
func parseEvents(t testing.TB, out string) (conns []event, sum summaryEvent) {
	t.Helper()
	validateOutput(t, "output", []byte(out))
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	var all []event
	for sc.Scan() {
		var head struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			t.Fatalf("bad NDJSON line %q: %v", sc.Text(), err)
		}
		e := event{Type: head.Type}
		if head.Type == "summary" {
			if err := json.Unmarshal(sc.Bytes(), &sum); err != nil {
				t.Fatalf("bad summary line %q: %v", sc.Text(), err)
			}
		}
		if head.Type == "conn" {
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("bad %s line %q: %v", head.Type, sc.Text(), err)
			}
		}
		all = append(all, e)
	}
	if len(all) == 0 || all[len(all)-1].Type != "summary" {
		t.Fatalf("output does not end with a summary:\n%s", out)
	}
	for _, e := range all[:len(all)-1] {
		switch e.Type {
		case "conn":
			conns = append(conns, e)
		case "session":
		default:
			t.Fatalf("unexpected event type %q", e.Type)
		}
	}
	if sum.TLSConnections != len(conns) || sum.Full+sum.Resumed+sum.Unknown != len(conns) {
		t.Errorf("summary counts %d (full %d + resumed %d + unknown %d) disagree with %d conn events",
			sum.TLSConnections, sum.Full, sum.Resumed, sum.Unknown, len(conns))
	}
	return conns, sum
}

// goldenCaptures are the committed captures with golden output: every
// capture under testdata/pcaps, the corpus included (its verdicts are also
// checked against the truth by TestCorpus; the golden files pin the bytes).
func goldenCaptures(t *testing.T) []string {
	var out []string
	err := filepath.WalkDir(pcapDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(p); ext == ".pcap" || ext == ".pcapng" || ext == ".gz" {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no captures found")
	}
	return out
}

// TestGolden compares the output on each committed capture with its golden
// file byte for byte. Golden files are regenerated with -update; the
// verdicts in them are checked separately against the truth (TestOpenSSLTruth),
// which never reads a golden file.
func TestGolden(t *testing.T) {
	for _, p := range goldenCaptures(t) {
		rel, _ := filepath.Rel(pcapDir, p)
		name := strings.ReplaceAll(rel, string(filepath.Separator), "__")
		t.Run(name, func(t *testing.T) {
			out, errs, code := runTool(t, "-r", p)
			if code == 0 {
				parseEvents(t, out)
			}
			// A capture that fails (truncated, not a capture) keeps its exit
			// code and stderr beside its output.
			diag := ""
			if code != 0 || errs != "" {
				diag = fmt.Sprintf("exit %d\n%s", code, errs)
			}
			golden := filepath.Join(goldenDir, name+".ndjson")
			goldenErr := filepath.Join(goldenDir, name+".stderr")
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				os.Remove(goldenErr)
				if diag != "" {
					if err := os.WriteFile(goldenErr, []byte(diag), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/tlsresume -run Golden -update)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from testdata/golden/%s.ndjson; diff with:\n  go run ./cmd/tlsresume -r testdata/pcaps/%s | diff testdata/golden/%s.ndjson -", name, rel, name)
			}
			wantErr, err := os.ReadFile(goldenErr)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if diag != string(wantErr) {
				t.Errorf("exit code or stderr differs from testdata/golden/%s.stderr:\ngot:\n%s\nwant:\n%s", name, diag, wantErr)
			}
		})
	}
}

// opensslRun is one s_client run as the capture's script recorded it.
type opensslRun struct {
	n               int
	port            int
	version         string
	reused          bool
	method          string
	offered         bool
	rejected        bool
	sessIn, sessOut string
}

var runLine = regexp.MustCompile(`^## run (\d+): .*openssl s_client`)
var sessFlag = regexp.MustCompile(`-sess_(in|out) (\S+)`)

// readOpenSSLTruth reads X.truth.tsv and, from X.sclient.txt, which
// session file each run read and wrote.
func readOpenSSLTruth(t *testing.T, base string) []opensslRun {
	t.Helper()
	b, err := os.ReadFile(base + ".truth.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var runs []opensslRun
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			t.Fatalf("%s.truth.tsv line %d: %d fields", base, i+1, len(f))
		}
		n, _ := strconv.Atoi(f[0])
		port, _ := strconv.Atoi(f[1])
		runs = append(runs, opensslRun{n: n, port: port, version: f[2], reused: f[3] == "true", method: f[4],
			offered: f[5] == "true", rejected: f[6] == "true"})
	}
	b, err = os.ReadFile(base + ".sclient.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		m := runLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		for _, s := range sessFlag.FindAllStringSubmatch(line, -1) {
			if s[1] == "in" {
				runs[n-1].sessIn = s[2]
			} else {
				runs[n-1].sessOut = s[2]
			}
		}
	}
	return runs
}

// TestOpenSSLTruth checks the verdicts on the OpenSSL captures against
// s_client's own New/Reused lines, and the session links against which
// session file each run read: the truth comes from the program that made
// the traffic.
func TestOpenSSLTruth(t *testing.T) {
	bases, _ := filepath.Glob(filepath.Join(pcapDir, "openssl", "*.truth.tsv"))
	// DTLS 1.2 over UDP, s_client -dtls1_2 (testdata/pcaps/openssl-dtls).
	dtls, _ := filepath.Glob(filepath.Join(pcapDir, "openssl-dtls", "*.truth.tsv"))
	if len(bases) == 0 || len(dtls) == 0 {
		t.Fatal("no OpenSSL truth files")
	}
	bases = append(bases, dtls...)
	for _, tf := range bases {
		base := strings.TrimSuffix(tf, ".truth.tsv")
		t.Run(filepath.Base(base), func(t *testing.T) {
			runs := readOpenSSLTruth(t, base)
			out, errs, code := runTool(t, "-r", base+".pcap")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			conns, _ := parseEvents(t, out)
			if len(conns) != len(runs) {
				t.Fatalf("%d conn events, s_client ran %d times", len(conns), len(runs))
			}
			byPort := map[int]event{}
			for _, c := range conns {
				byPort[c.Client.Port] = c
			}
			writer := map[string]int{} // session file -> conn id of the run that wrote it
			read := map[string]bool{}  // session files a run offered since they were written
			for _, r := range runs {
				c, ok := byPort[r.port]
				if !ok {
					t.Errorf("run %d (client port %d): no conn event", r.n, r.port)
					continue
				}
				// A TLS 1.3 session file holds one ticket: a second run
				// reading it (no -sess_out in between) offers that ticket
				// again, which RFC 8446 Section 8 calls a reuse.
				if r.version == "TLS 1.3" && r.offered {
					reuse := read[r.sessIn]
					if got := slices.Contains(c.Notes, "psk_reused"); got != reuse {
						t.Errorf("run %d: psk_reused %v, but the session file %s was offered before: %v", r.n, got, r.sessIn, reuse)
					}
					read[r.sessIn] = true
				}
				if r.sessOut != "" {
					delete(read, r.sessOut)
				}
				if r.sessOut != "" && !r.reused {
					writer[r.sessOut] = c.ID
				}
				want := "full"
				if r.reused {
					want = "resumed"
				}
				if c.Handshake != want || c.Version != r.version {
					t.Errorf("run %d: got %s %s, s_client says %s %s", r.n, c.Version, c.Handshake, r.version, want)
				}
				got := ""
				if c.Resumption != nil {
					got = *c.Resumption
				}
				if r.reused && got != r.method {
					t.Errorf("run %d: resumed by %q, want %q", r.n, got, r.method)
				}
				if c.Rejected != r.rejected {
					t.Errorf("run %d: rejected %v, want %v", r.n, c.Rejected, r.rejected)
				}
				offered := strings.Join(c.Offered, ",")
				if r.offered && !strings.Contains(offered, r.method) {
					t.Errorf("run %d: offered %q, want it to contain %q", r.n, offered, r.method)
				}
				if !r.offered && offered != "" {
					t.Errorf("run %d: offered %q, but s_client had no session", r.n, offered)
				}
				// TLS 1.2 origins are visible: a resumption points at the
				// run that created the session file it read.
				if r.reused && r.version == "TLS 1.2" {
					origin, known := writer[r.sessIn]
					if !known {
						t.Fatalf("run %d: session file %s written by no earlier full handshake", r.n, r.sessIn)
					}
					if c.Resumes == nil || *c.Resumes != origin {
						t.Errorf("run %d: resumes %v, want conn %d (wrote %s)", r.n, c.Resumes, origin, r.sessIn)
					}
				}
			}
			// Runs that read the same session file and resumed share a session.
			sessionOf := map[string]string{}
			for _, r := range runs {
				c := byPort[r.port]
				if !r.reused || c.Session == nil {
					if r.reused {
						t.Errorf("run %d: resumed without a session", r.n)
					}
					continue
				}
				if s, ok := sessionOf[r.sessIn]; ok && s != *c.Session {
					t.Errorf("run %d: session %s, an earlier run with %s got %s", r.n, *c.Session, r.sessIn, s)
				}
				sessionOf[r.sessIn] = *c.Session
			}
		})
	}
}
