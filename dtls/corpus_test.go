package dtls

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusCaptures are the corpus's DTLS captures copied into
// testdata/corpus (testdata/corpus/README.md); their ground truth, made
// by tshark 4.0.17, is testdata/corpus/groundtruth/.
var corpusCaptures = []string{
	"arkime/wireshark-dtls12.pcap",
	"mercury/unit_tests/pcaps/dtls_fragmented_client_hello.pcap",
	"mercury/unit_tests/pcaps/dtls_interleaved_client_hello.pcap",
	"nDPI/dtls_session_id_and_coockie_both.pcap",
	"nDPI/dtls_certificate_fragments.pcap",
	"nDPI/dtls.pcap",
	"zeek/tls/dtls1_0.pcap",
	"zeek/tls/dtls1_2.pcap",
	"zeek/tls/dtls13-wolfssl.pcap",
	"zeek/tls/dtls13-cid.pcap",
	"wireshark/snakeoil-dtls.pcap",
}

// corpusExceptions are ground-truth rows this test's packet decoder does
// not reach, each checked with tshark; a listed row that starts to match
// fails the test.
var corpusExceptions = map[string]string{
	"nDPI/dtls.pcap udp:2": "inside GTP-U (udp 2152), which the test's decoder does not open",
}

func TestCorpusGroundTruth(t *testing.T) {
	for _, name := range corpusCaptures {
		t.Run(name, func(t *testing.T) {
			flows := readFlows(t, filepath.Join("testdata/corpus", name))
			gt := filepath.Join("testdata/corpus/groundtruth", strings.ReplaceAll(name, "/", "__")+".tsv")
			b, err := os.ReadFile(gt)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			cols := strings.Split(lines[0], "\t")
			rows := 0
			for _, line := range lines[1:] {
				f := strings.Split(line, "\t")
				row := map[string]string{}
				for i, c := range cols {
					if i < len(f) {
						row[c] = f[i]
					}
				}
				if row["proto"] != "dtls" {
					continue
				}
				rows++
				if why, ok := corpusExceptions[name+" "+row["stream"]]; ok {
					if findFlow(flows, row["client"], row["server"]) != nil {
						t.Errorf("%s: listed as an exception (%s) but the flow is there now", row["stream"], why)
					}
					continue
				}
				checkCorpusRow(t, row, flows)
			}
			if rows == 0 {
				t.Fatal("no DTLS rows in the ground truth")
			}
		})
	}
}

func findFlow(flows []*flow, client, server string) *flow {
	for _, fl := range flows {
		if fl.client.String() == client && fl.server.String() == server ||
			fmt.Sprintf("%s:%d", fl.client.Addr(), fl.client.Port()) == client &&
				fmt.Sprintf("%s:%d", fl.server.Addr(), fl.server.Port()) == server {
			return fl
		}
	}
	return nil
}

func checkCorpusRow(t *testing.T, row map[string]string, flows []*flow) {
	t.Helper()
	id := row["stream"]
	fl := findFlow(flows, row["client"], row["server"])
	if fl == nil {
		t.Errorf("%s: no DTLS flow %s -> %s", id, row["client"], row["server"])
		return
	}
	for _, sd := range []*side{&fl.c, &fl.s} {
		for _, err := range sd.errs {
			t.Errorf("%s: %v", id, err)
		}
	}
	if len(fl.c.hellos) == 0 {
		t.Errorf("%s: no ClientHello", id)
		return
	}
	// Judge on the last ClientHello: the one that carries the cookie
	// after a HelloVerifyRequest, or the retry after a HelloRetryRequest.
	ch := fl.c.hellos[len(fl.c.hellos)-1]
	if got := hex.EncodeToString(ch.SessionID); got != row["ch_sid"] {
		t.Errorf("%s: ClientHello session ID %s, tshark %s", id, got, row["ch_sid"])
	}
	tl := "-1"
	if ch.SessionTicketExt {
		tl = fmt.Sprint(len(ch.SessionTicket))
	}
	if tl != row["ch_ticket_len"] {
		t.Errorf("%s: ClientHello session_ticket length %s, tshark %s", id, tl, row["ch_ticket_len"])
	}
	wantHVR := strings.Contains(row["notes"], "HelloVerifyRequest")
	if got := len(fl.s.hvrs) > 0; got != wantHVR {
		t.Errorf("%s: HelloVerifyRequest %v, tshark %v", id, got, wantHVR)
	} else if got && string(fl.c.cookies[len(fl.c.cookies)-1]) != string(fl.s.hvrs[len(fl.s.hvrs)-1].Cookie) {
		t.Errorf("%s: last ClientHello's cookie %x is not the HelloVerifyRequest's %x", id, fl.c.cookies[len(fl.c.cookies)-1], fl.s.hvrs[0].Cookie)
	}
	if row["sh_frame"] == "" {
		if len(fl.s.shs) != 0 {
			t.Errorf("%s: %d ServerHellos, tshark saw none", id, len(fl.s.shs))
		}
		return
	}
	if len(fl.s.shs) == 0 {
		t.Errorf("%s: no ServerHello, tshark saw one", id)
		return
	}
	if got := fl.s.shs[0].HelloRetryRequest; got != (row["hrr"] == "1") {
		t.Errorf("%s: HelloRetryRequest %v, tshark hrr=%s", id, got, row["hrr"])
	}
	sh := fl.s.shs[len(fl.s.shs)-1]
	v := sh.Version
	if sh.SupportedVersion != 0 {
		v = sh.SupportedVersion
	}
	if got := fmt.Sprintf("0x%04x", uint16(v)); got != row["neg_version"] {
		t.Errorf("%s: negotiated %s, tshark %s", id, got, row["neg_version"])
	}
	if got := hex.EncodeToString(sh.SessionID); got != row["sh_sid"] {
		t.Errorf("%s: ServerHello session ID %s, tshark %s", id, got, row["sh_sid"])
	}
	for _, c := range []struct {
		col string
		got bool
	}{
		{"srv_cert", fl.s.has(11)},
		{"srv_shd", fl.s.has(14)},
		{"srv_ccs", fl.s.ccs > 0},
	} {
		if c.got != (row[c.col] == "1") {
			t.Errorf("%s: %s %v, tshark %s", id, c.col, c.got, row[c.col])
		}
	}
	if row["neg_version"] == "0xfefc" && fl.s.unified == 0 {
		t.Errorf("%s: DTLS 1.3 but no unified-header record from the server", id)
	}
}
