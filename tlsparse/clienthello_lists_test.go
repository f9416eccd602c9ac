package tlsparse

import (
	"crypto/tls"
	"slices"
	"testing"
)

// TestParseClientHelloListsGo checks the lists a fingerprint reads (cipher
// suites, extension types in wire order, supported_groups, ec_point_formats,
// signature_algorithms) against what crypto/tls's server saw in the same
// ClientHello (tls.ClientHelloInfo from GetConfigForClient).
func TestParseClientHelloListsGo(t *testing.T) {
	cert, roots, err := testCertificate()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		max  uint16
	}{
		{"tls12", tls.VersionTLS12},
		{"tls13", tls.VersionTLS13},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var info *tls.ClientHelloInfo
			scfg := &tls.Config{
				Certificates: []tls.Certificate{cert},
				NextProtos:   testServerALPN,
				GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
					info = hi
					return nil, nil
				},
			}
			ccfg := &tls.Config{RootCAs: roots, ServerName: testServerName, NextProtos: testClientALPN, MaxVersion: tt.max}
			c, err := recordConn(tt.name, ccfg, scfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if info == nil {
				t.Fatal("GetConfigForClient was not called")
			}
			ch, err := ParseClientHello(goMessagesOfType(t, c, false, TypeClientHello)[0])
			if err != nil {
				t.Fatal(err)
			}
			suites := make([]uint16, len(ch.Suites))
			for i, s := range ch.Suites {
				suites[i] = uint16(s)
			}
			if !slices.Equal(suites, info.CipherSuites) || ch.CipherSuites != len(info.CipherSuites) {
				t.Errorf("suites %x (count %d), crypto/tls saw %x", suites, ch.CipherSuites, info.CipherSuites)
			}
			types := make([]uint16, len(ch.Extensions))
			for i, e := range ch.Extensions {
				types[i] = uint16(e.Type)
			}
			if !slices.Equal(types, info.Extensions) {
				t.Errorf("extensions %v, crypto/tls saw %v", types, info.Extensions)
			}
			groups := make([]uint16, len(info.SupportedCurves))
			for i, g := range info.SupportedCurves {
				groups[i] = uint16(g)
			}
			if !slices.Equal(ch.SupportedGroups, groups) || len(groups) == 0 {
				t.Errorf("supported_groups %v, crypto/tls saw %v", ch.SupportedGroups, groups)
			}
			if !slices.Equal(ch.ECPointFormats, info.SupportedPoints) || len(info.SupportedPoints) == 0 {
				t.Errorf("ec_point_formats %v, crypto/tls saw %v", ch.ECPointFormats, info.SupportedPoints)
			}
			sigs := make([]uint16, len(info.SignatureSchemes))
			for i, s := range info.SignatureSchemes {
				sigs[i] = uint16(s)
			}
			if !slices.Equal(ch.SignatureAlgorithms, sigs) || len(sigs) == 0 {
				t.Errorf("signature_algorithms %x, crypto/tls saw %x", ch.SignatureAlgorithms, sigs)
			}
		})
	}
}

// TestParseClientHelloListsMalformed checks that a malformed list becomes a
// note and leaves its field nil, and that the other fields still parse.
func TestParseClientHelloListsMalformed(t *testing.T) {
	for _, tt := range []struct {
		name string
		e    ext
		note string
	}{
		{"groups odd length", ext{ExtSupportedGroups, []byte{0, 3, 0, 29, 0}}, "malformed_extension_10"},
		{"groups length over data", ext{ExtSupportedGroups, []byte{0, 4, 0, 29}}, "malformed_extension_10"},
		{"points trailing byte", ext{ExtECPointFormats, []byte{1, 0, 0}}, "malformed_extension_11"},
		{"sigalgs empty data", ext{ExtSignatureAlgorithms, nil}, "malformed_extension_13"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := ParseClientHello(buildClientHello(nil, []ext{tt.e, {ExtServerName, extSNI}}))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ch.Notes, []string{tt.note}) || ch.SupportedGroups != nil || ch.ECPointFormats != nil ||
				ch.SignatureAlgorithms != nil || ch.ServerName != "example.com" {
				t.Errorf("notes %q, groups %v, points %v, sigalgs %v, sni %q",
					ch.Notes, ch.SupportedGroups, ch.ECPointFormats, ch.SignatureAlgorithms, ch.ServerName)
			}
		})
	}
}
