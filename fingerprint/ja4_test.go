package fingerprint

import (
	"crypto/md5"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// specHello is the ClientHello of JA4.md's worked example, with GREASE
// values added where Chrome puts them (JA4 must ignore them).
func specHello() *tlsparse.ClientHello {
	ch := &tlsparse.ClientHello{Version: tlsparse.VersionTLS12, ALPN: []string{"h2", "http/1.1"}}
	for _, c := range []uint16{0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035} {
		ch.Suites = append(ch.Suites, tlsparse.CipherSuite(c))
	}
	ch.CipherSuites = len(ch.Suites)
	for _, e := range []uint16{0x9a9a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0xdada} {
		ch.Extensions = append(ch.Extensions, tlsparse.Extension{Type: tlsparse.ExtensionType(e)})
	}
	ch.SupportedVersions = []tlsparse.Version{0x6a6a, tlsparse.VersionTLS13, tlsparse.VersionTLS12}
	ch.SignatureAlgorithms = []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}
	return ch
}

// TestJA4SpecExamples checks the values JA4.md works out by hand.
func TestJA4SpecExamples(t *testing.T) {
	ch := specHello()
	if got, want := JA4(ch, TCP), "t13d1516h2_8daaf6152771_e5627efa2ab1"; got != want {
		t.Errorf("JA4 %s, want %s", got, want)
	}
	wantRaw := "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
		"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
	if got := JA4Raw(ch, TCP); got != wantRaw {
		t.Errorf("JA4_r %s\nwant %s", got, wantRaw)
	}
	// "If there are no signature algorithms in the hello packet, then the
	// string ends without an underscore and is hashed."
	ch.SignatureAlgorithms = nil
	if got, want := JA4(ch, TCP), "t13d1516h2_8daaf6152771_6d807ffa2a79"; got != want {
		t.Errorf("without signature algorithms: JA4 %s, want %s", got, want)
	}
}

func TestJA4Parts(t *testing.T) {
	withVersions := func(legacy tlsparse.Version, sv ...tlsparse.Version) *tlsparse.ClientHello {
		ch := specHello()
		ch.Version, ch.SupportedVersions = legacy, sv
		return ch
	}
	many := specHello()
	many.Suites, many.Extensions = nil, nil
	for i := range 120 {
		many.Suites = append(many.Suites, tlsparse.CipherSuite(0x0100+i))
		many.Extensions = append(many.Extensions, tlsparse.Extension{Type: tlsparse.ExtensionType(0x0100 + i)})
	}
	sniOnly := &tlsparse.ClientHello{Version: tlsparse.VersionTLS10, Extensions: []tlsparse.Extension{{Type: tlsparse.ExtServerName}}}
	for _, tt := range []struct {
		name      string
		ch        *tlsparse.ClientHello
		transport byte
		want      string // a regexp for the whole fingerprint
	}{
		{"quic", specHello(), QUIC, `^q13d1516h2_`},
		{"dtls 1.3 over 1.2", withVersions(0xfefd, 0xfefc, 0xfefd), DTLS, `^d d3d`},
		{"dtls 1.2 legacy", withVersions(0xfefd), DTLS, `^dd2d`},
		{"dtls 1.0 legacy", withVersions(0xfeff), DTLS, `^dd1d`},
		{"legacy tls 1.1", withVersions(tlsparse.VersionTLS11), TCP, `^t11d`},
		{"ssl 3", withVersions(tlsparse.VersionSSL30), TCP, `^ts3d`},
		{"ssl 2", withVersions(tlsparse.VersionSSL20), TCP, `^ts2d`},
		{"only grease in supported_versions", withVersions(tlsparse.VersionTLS10, 0x0a0a), TCP, `^t10d`},
		{"draft version", withVersions(tlsparse.VersionTLS12, 0x7f1c), TCP, `^t00d`},
		{"highest, not first", withVersions(tlsparse.VersionTLS10, tlsparse.VersionTLS11, tlsparse.VersionTLS13, tlsparse.VersionTLS12), TCP, `^t13d`},
		{"counts capped at 99", many, TCP, `^t13i9999h2_`},
		{"sni only", sniOnly, TCP, `^t10d000100_000000000000_000000000000$`},
		{"no extensions", &tlsparse.ClientHello{Version: tlsparse.VersionTLS12}, TCP, `^t12i000000_000000000000_000000000000$`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.ReplaceAll(tt.want, " ", "")
			if got := JA4(tt.ch, tt.transport); !regexp.MustCompile(want).MatchString(got) || len(got) != 36 {
				t.Errorf("JA4 %s, want %s", got, want)
			}
		})
	}
}

// TestALPNChars checks JA4.md's ALPN rules and examples.
func TestALPNChars(t *testing.T) {
	for _, tt := range []struct {
		alpn []string
		want string
	}{
		{nil, "00"},
		{[]string{""}, "00"},
		{[]string{"", "h2"}, "00"}, // only the first value counts
		{[]string{"h2"}, "h2"},
		{[]string{"http/1.1", "h2"}, "h1"},
		{[]string{"h"}, "hh"},
		{[]string{"\xab"}, "ab"},
		{[]string{"\xab\xcd"}, "ad"},
		{[]string{"0\xab"}, "3b"},
		{[]string{"01\xab\xcd"}, "3d"},
		{[]string{"0\xab\xcd1"}, "01"},
		{[]string{"\xba\xad"}, "bd"}, // tls-non-ascii-alpn.pcapng
		{[]string{"-h2"}, "22"},      // '-' is not alphanumeric: hex 2d6832
	} {
		if got := alpnChars(tt.alpn); got != tt.want {
			t.Errorf("alpnChars(%q) = %q, want %q", tt.alpn, got, tt.want)
		}
	}
}

func TestJA3(t *testing.T) {
	ch := specHello()
	ch.SupportedGroups = []uint16{0x2a2a, 29, 23, 24}
	ch.ECPointFormats = []uint8{0}
	full, hash := JA3(ch)
	want := "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53," +
		"27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
	if full != want {
		t.Errorf("JA3 %s\nwant %s", full, want)
	}
	if sum := md5.Sum([]byte(want)); hash != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s is not the MD5 of the string", hash)
	}
	// A hello without extensions: three empty fields.
	if full, _ := JA3(&tlsparse.ClientHello{Version: tlsparse.VersionTLS10, Suites: []tlsparse.CipherSuite{47, 53}}); full != "769,47-53,,," {
		t.Errorf("JA3 without extensions %q", full)
	}
}
