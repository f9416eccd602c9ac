package tlsparse

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCipherSuiteNamesGo checks every suite crypto/tls knows against
// tls.CipherSuiteName, which uses the IANA names.
func TestCipherSuiteNamesGo(t *testing.T) {
	n := 0
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, cs := range list {
			n++
			if got, want := CipherSuite(cs.ID).String(), tls.CipherSuiteName(cs.ID); got != want {
				t.Errorf("CipherSuite(%#04x) = %q, crypto/tls says %q", cs.ID, got, want)
			}
		}
	}
	if n < 20 {
		t.Fatalf("crypto/tls listed only %d suites", n)
	}
}

// TestCipherSuiteNamesIANA checks suites crypto/tls does not implement
// against the IANA registry's Description column, read by hand.
func TestCipherSuiteNamesIANA(t *testing.T) {
	for _, tt := range []struct {
		c    CipherSuite
		want string
	}{
		{0x0000, "TLS_NULL_WITH_NULL_NULL"},
		{0x0002, "TLS_RSA_WITH_NULL_SHA"},
		{0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
		{0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
		{0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
		{0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
		{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
		{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
		{0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
		{0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
		{0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
		{0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
		{0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
		{0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
		{0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
		{0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
		{0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
		{0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"},
		{0x00c6, "TLS_SM4_GCM_SM3"},
		{0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
		{0x1304, "TLS_AES_128_CCM_SHA256"},
		{0x1305, "TLS_AES_128_CCM_8_SHA256"},
		{0x1307, "TLS_AEGIS_128L_SHA256"},
		{0x5600, "TLS_FALLBACK_SCSV"},
		{0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"},
		{0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
		{0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
		{0xc050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"},
		{0xc09c, "TLS_RSA_WITH_AES_128_CCM"},
		{0xc0a4, "TLS_PSK_WITH_AES_128_CCM"},
		{0xc0aa, "TLS_PSK_DHE_WITH_AES_128_CCM_8"}, // sic: the registry's word order
		{0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
		{0xc0b5, "TLS_SHA384_SHA384"},
		{0xc100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC"},
		{0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
		{0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"},
		{0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
		{0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
		{0xccae, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"},
		{0xd001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256"},
		{0xd005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256"},
		// Not named by the registry.
		{0x001c, "0x001c"}, // reserved to avoid conflicts with SSLv3 (Fortezza)
		{0x0060, "0x0060"}, // reserved (deployed export suites)
		{0x00c8, "0x00c8"}, // unassigned
		{0xcc13, "0xcc13"}, // pre-RFC 7905 ChaCha20 draft, never registered
		{0xd004, "0xd004"}, // unassigned
		{0xfeff, "0xfeff"}, // reserved to avoid conflicts
		{0xff85, "0xff85"}, // private use
	} {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("CipherSuite(%#04x) = %q, want %q", uint16(tt.c), got, tt.want)
		}
	}
}

// TestCipherSuiteTable checks the table's shape: sorted without
// duplicates, every name a TLS_ name, no GREASE value named.
func TestCipherSuiteTable(t *testing.T) {
	names := map[string]bool{}
	for i, e := range ianaCipherSuites {
		if i > 0 && e.id <= ianaCipherSuites[i-1].id {
			t.Errorf("entry %d (%#04x) out of order", i, uint16(e.id))
		}
		if !strings.HasPrefix(e.name, "TLS_") || names[e.name] {
			t.Errorf("%#04x: name %q not TLS_ or twice", uint16(e.id), e.name)
		}
		names[e.name] = true
	}
	if len(ianaCipherSuites) < 350 {
		t.Errorf("%d suites, the registry names over 350", len(ianaCipherSuites))
	}
	for v := 0; v <= 0xffff; v++ {
		if IsGREASE(uint16(v)) != (v&0x0f0f == 0x0a0a && v>>8 == v&0xff) {
			t.Fatalf("IsGREASE(%#04x) wrong", v)
		}
		if IsGREASE(uint16(v)) {
			if s := CipherSuite(v).String(); !strings.HasPrefix(s, "0x") {
				t.Errorf("GREASE %#04x named %q", v, s)
			}
		}
	}
}

// TestCipherSuitesInCorpus checks that every cipher suite a server chose
// in the corpus captures (the "cipher" field of the golden conn events,
// one per committed capture) has a name, except the values below, which
// the registry does not assign.
func TestCipherSuitesInCorpus(t *testing.T) {
	unnamed := map[CipherSuite]string{
		0x8c62: "fake TLS (mercury faketls_potatovpn): not a real ServerHello",
		0xc755: "fake TLS (mercury faketls_potatovpn): not a real ServerHello",
	}
	files, err := filepath.Glob("../testdata/golden/*.ndjson")
	if err != nil || len(files) < 100 {
		t.Fatalf("golden files: %d, %v", len(files), err)
	}
	byName := map[string]bool{}
	for _, e := range ianaCipherSuites {
		byName[e.name] = true
	}
	re := regexp.MustCompile(`"cipher":"([^"]+)"`)
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			seen[string(m[1])] = true
		}
	}
	if len(seen) < 30 {
		t.Fatalf("only %d distinct ciphers in the golden files", len(seen))
	}
	for s := range seen {
		if !strings.HasPrefix(s, "0x") {
			if !byName[s] {
				t.Errorf("golden cipher %q is not an IANA name", s)
			}
			continue
		}
		v, err := strconv.ParseUint(s[2:], 16, 16)
		if err != nil {
			t.Fatalf("golden cipher %q: %v", s, err)
		}
		c := CipherSuite(v)
		_, named := c.name()
		if _, ok := unnamed[c]; ok == named {
			t.Errorf("%s: named %v (%v), listed as unassigned %v", s, named, c, ok)
		}
	}
}
