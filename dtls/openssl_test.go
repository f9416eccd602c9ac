package dtls

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

const opensslDir = "../testdata/pcaps/openssl-dtls"

// truthRow is one line of X.truth.tsv (see testdata/pcaps/README.md).
type truthRow struct {
	n, clientPort, version, reused, method, offered, rejected string
	sessionID                                                 string // from X.sclient.txt
	cipher                                                    string // OpenSSL's name, from X.sclient.txt
}

func readTruth(t *testing.T, scen string) []truthRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(opensslDir, scen+".truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []truthRow
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) != 7 {
			continue
		}
		rows = append(rows, truthRow{n: f[0], clientPort: f[1], version: f[2], reused: f[3], method: f[4], offered: f[5], rejected: f[6]})
	}
	// s_client's own lines per run: "New, TLSv1.2, Cipher is X" / "Reused, ...",
	// "Session-ID: HEX".
	s, err := os.ReadFile(filepath.Join(opensslDir, scen+".sclient.txt"))
	if err != nil {
		t.Fatal(err)
	}
	runs := regexp.MustCompile(`(?m)^## run \d+:`).Split(string(s), -1)[1:]
	if len(runs) != len(rows) {
		t.Fatalf("%s: %d runs in sclient.txt, %d truth rows", scen, len(runs), len(rows))
	}
	cipherRE := regexp.MustCompile(`(?m)^(New|Reused), TLSv1\.2, Cipher is (\S+)$`)
	sidRE := regexp.MustCompile(`(?m)^\s*Session-ID: ([0-9A-F]*)$`)
	for i, run := range runs {
		m := cipherRE.FindStringSubmatch(run)
		if m == nil || (m[1] == "Reused") != (rows[i].reused == "true") {
			t.Fatalf("%s run %d: s_client line %q disagrees with the truth row", scen, i+1, m)
		}
		rows[i].cipher = m[2]
		if m := sidRE.FindStringSubmatch(run); m != nil {
			rows[i].sessionID = strings.ToLower(m[1])
		}
	}
	return rows
}

// opensslCiphers maps the OpenSSL names s_client printed to IANA names.
var opensslCiphers = map[string]string{
	"ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
}

func TestOpenSSLCaptures(t *testing.T) {
	for _, scen := range []string{"dtls12-sessionid", "dtls12-ticket", "dtls12-rejected-restart", "dtls12-fragmented"} {
		t.Run(scen, func(t *testing.T) {
			rows := readTruth(t, scen)
			flows := readFlows(t, filepath.Join(opensslDir, scen+".pcap"))
			if len(flows) != len(rows) {
				t.Fatalf("%d DTLS flows, %d truth rows", len(flows), len(rows))
			}
			for i, row := range rows {
				checkOpenSSLRun(t, scen, row, flows[i])
			}
		})
	}
}

func checkOpenSSLRun(t *testing.T, scen string, row truthRow, fl *flow) {
	t.Helper()
	run := scen + " run " + row.n
	if got := fl.client.Port(); row.clientPort != itoa(int(got)) {
		t.Errorf("%s: client port %d, truth %s", run, got, row.clientPort)
	}
	for _, sd := range []*side{&fl.c, &fl.s} {
		for _, err := range sd.errs {
			t.Errorf("%s: %v", run, err)
		}
		if n := sd.lastStat[CountMessageAbandoned]; n != 0 {
			t.Errorf("%s: %d messages abandoned", run, n)
		}
	}
	// s_server always does the cookie exchange: ClientHello without a
	// cookie, HelloVerifyRequest, ClientHello with that cookie.
	if len(fl.c.hellos) != 2 || len(fl.s.hvrs) != 1 {
		t.Fatalf("%s: %d ClientHellos, %d HelloVerifyRequests; want 2 and 1", run, len(fl.c.hellos), len(fl.s.hvrs))
	}
	if fl.c.cookies[0] != nil || string(fl.c.cookies[1]) != string(fl.s.hvrs[0].Cookie) || len(fl.c.cookies[1]) == 0 {
		t.Errorf("%s: cookies %x, %x; HelloVerifyRequest cookie %x", run, fl.c.cookies[0], fl.c.cookies[1], fl.s.hvrs[0].Cookie)
	}
	ch := fl.c.hellos[1] // the ClientHello that carries the cookie
	offersTicket := len(ch.SessionTicket) > 0
	switch row.method {
	case "ticket":
		if !offersTicket {
			t.Errorf("%s: truth offers a ticket, the ClientHello has none", run)
		}
	case "session_id":
		if offersTicket || len(ch.SessionID) == 0 {
			t.Errorf("%s: truth offers a session ID; ClientHello session ID %x, ticket %d bytes", run, ch.SessionID, len(ch.SessionTicket))
		}
	case "":
		if offersTicket || len(ch.SessionID) != 0 {
			t.Errorf("%s: nothing offered, ClientHello session ID %x, ticket %d bytes", run, ch.SessionID, len(ch.SessionTicket))
		}
	}
	if len(fl.s.shs) != 1 {
		t.Fatalf("%s: %d ServerHellos", run, len(fl.s.shs))
	}
	sh := fl.s.shs[0]
	if got := sh.Version.String(); got != row.version {
		t.Errorf("%s: ServerHello version %s, s_client says %s", run, got, row.version)
	}
	if got, want := sh.CipherSuite.String(), opensslCiphers[row.cipher]; got != want {
		t.Errorf("%s: cipher %s, s_client says %s (%s)", run, got, row.cipher, want)
	}
	cert, shd := fl.s.has(tlsparse.TypeCertificate), fl.s.has(tlsparse.TypeServerHelloDone)
	if row.reused == "true" {
		if hex.EncodeToString(sh.SessionID) != row.sessionID || string(sh.SessionID) != string(ch.SessionID) {
			t.Errorf("%s: Reused: ServerHello session ID %x, ClientHello %x, s_client %s", run, sh.SessionID, ch.SessionID, row.sessionID)
		}
		if cert || shd {
			t.Errorf("%s: Reused but the server sent Certificate=%v ServerHelloDone=%v", run, cert, shd)
		}
	} else {
		if !cert || !shd {
			t.Errorf("%s: New but Certificate=%v ServerHelloDone=%v", run, cert, shd)
		}
		if row.method == "session_id" && string(sh.SessionID) == string(ch.SessionID) {
			t.Errorf("%s: rejected session ID offer echoed", run)
		}
	}
	// Both sides switch to epoch 1: ChangeCipherSpec, then an encrypted
	// Finished that is counted, never parsed.
	for name, sd := range map[string]*side{"client": &fl.c, "server": &fl.s} {
		if sd.ccs != 1 || sd.encHS < 1 || sd.lastStat[CountHandshakeEncrypted] < 1 {
			t.Errorf("%s: %s ChangeCipherSpec %d, encrypted handshake records %d", run, name, sd.ccs, sd.encHS)
		}
	}
}

func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
