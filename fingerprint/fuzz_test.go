package fingerprint

import (
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

var ja4Shape = regexp.MustCompile(`^[tqd](1[0-3]|s[23]|d[123]|00)[di][0-9]{4}[0-9a-zA-Z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)

// FuzzFingerprints checks that JA3 and JA4 never panic on a hello the
// parser accepts and always have their fixed shape.
func FuzzFingerprints(f *testing.F) {
	// Chrome 120-style TLS 1.3 hello with GREASE (tls-handshake.pcapng).
	addCaptureSeed(f, "testdata/ja4/tls-handshake.pcapng", 0)
	// Non-ASCII first ALPN value 0xba 0xad (tls-non-ascii-alpn.pcapng).
	addCaptureSeed(f, "testdata/ja4/tls-non-ascii-alpn.pcapng", 0)
	// TLS 1.0 hello with 23 suites and only server_name (https3-301-get.pcap).
	addCaptureSeed(f, "testdata/ja4/https3-301-get.pcap", 0)
	// TLS 1.3 draft 19 hello, supported_versions 0x7f13 (suricata-verify).
	addCaptureSeed(f, "testdata/suricata-verify/tests/tls/tls13-draft19/tls13_draft19.pcap", 0)
	// TLS 1.0 hello without signature_algorithms (suricata-verify bug-5713).
	addCaptureSeed(f, "testdata/suricata-verify/tests/bug-5713-01/TLSv1-Extracted-MaliciousC2.pcap", 0)
	// Minimal hello: one suite, no extensions block.
	f.Add(mustHex(f, "0303"+repeat("11", 32)+"00"+"0002002f"+"0100"))
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, err := tlsparse.ParseClientHello(body)
		if err != nil {
			return
		}
		for _, tr := range []byte{TCP, QUIC, DTLS} {
			if got := JA4(ch, tr); !ja4Shape.MatchString(got) {
				t.Fatalf("JA4 %q has the wrong shape", got)
			}
			JA4Raw(ch, tr)
		}
		if _, hash := JA3(ch); len(hash) != 32 {
			t.Fatalf("JA3 hash %q", hash)
		}
	})
}

func addCaptureSeed(f *testing.F, path string, i int) {
	hs := captureHellosTB(f, path)
	if len(hs) <= i {
		f.Fatalf("%s: %d ClientHellos", path, len(hs))
	}
	f.Add(hs[i].body)
}

func mustHex(tb testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }
