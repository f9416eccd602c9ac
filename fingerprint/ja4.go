package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// Transports for JA4's first character.
const (
	TCP  byte = 't' // TLS over TCP
	QUIC byte = 'q' // RFC 9001
	DTLS byte = 'd' // RFC 6347, RFC 9147
)

// JA4 returns the JA4 fingerprint of ch sent over transport ('t', 'q' or
// 'd'; any other byte is written as given), for example
// t13d1516h2_8daaf6152771_e5627efa2ab1:
//
//   - a: transport; version (the highest non-GREASE supported_versions
//     entry, else legacy_version: "13", "12", "11", "10", "s3", "s2",
//     "d1", "d2", "d3", or "00" for anything else); 'd' when a server_name
//     extension is present, else 'i'; the number of cipher suites and of
//     extensions, GREASE left out, two digits capped at 99 (server_name
//     and ALPN count); the first and last character of the first ALPN
//     value, or of its hex form when either is not an ASCII letter or
//     digit, "00" without one.
//   - b: the first 12 hex digits of SHA-256 over the cipher suites as
//     4-digit lower-case hex, sorted, comma-separated.
//   - c: the same over the extension types, sorted, without server_name
//     (0) and ALPN (16), then "_" and the signature_algorithms in wire
//     order when there are any.
//
// An empty list hashes to "000000000000".
func JA4(ch *tlsparse.ClientHello, transport byte) string {
	a, ciphers, exts := ja4Parts(ch, transport)
	return a + "_" + hash12(ciphers) + "_" + hash12(exts)
}

// JA4Raw returns JA4's unhashed form (JA4_r): the same a part, then the
// sorted cipher list and the sorted extension list with the signature
// algorithms, as they are hashed.
func JA4Raw(ch *tlsparse.ClientHello, transport byte) string {
	a, ciphers, exts := ja4Parts(ch, transport)
	return a + "_" + ciphers + "_" + exts
}

// ja4Parts returns JA4's a part and the two strings that b and c hash.
func ja4Parts(ch *tlsparse.ClientHello, transport byte) (a, ciphers, exts string) {
	suites := make([]uint16, 0, len(ch.Suites))
	for _, c := range ch.Suites {
		if !tlsparse.IsGREASE(uint16(c)) {
			suites = append(suites, uint16(c))
		}
	}
	types := make([]uint16, 0, len(ch.Extensions))
	nExt, sni := 0, false
	for _, e := range ch.Extensions {
		t := uint16(e.Type)
		switch {
		case tlsparse.IsGREASE(t):
			continue
		case e.Type == tlsparse.ExtServerName:
			sni = true
		case e.Type == tlsparse.ExtALPN:
		default:
			types = append(types, t)
		}
		nExt++
	}
	dest := byte('i')
	if sni {
		dest = 'd'
	}
	a = fmt.Sprintf("%c%s%c%02d%02d%s", transport, ja4Version(ch), dest,
		min(len(suites), 99), min(nExt, 99), alpnChars(ch.ALPN))

	slices.Sort(suites)
	slices.Sort(types)
	var sigs []uint16
	for _, s := range ch.SignatureAlgorithms {
		if !tlsparse.IsGREASE(s) {
			sigs = append(sigs, s)
		}
	}
	ciphers = hexList(suites)
	exts = hexList(types)
	if len(types) > 0 && len(sigs) > 0 {
		exts += "_" + hexList(sigs)
	}
	return a, ciphers, exts
}

// ja4Version is JA4's two-character version: from supported_versions
// (RFC 8446, Section 4.2.1) when it lists a non-GREASE value, else from
// legacy_version. "Highest" is by protocol order, so among DTLS values
// (RFC 9147, Section 5.3: 0xfeff, 0xfefd, 0xfefc) the lowest number wins.
func ja4Version(ch *tlsparse.ClientHello) string {
	v, found := ch.Version, false
	for _, sv := range ch.SupportedVersions {
		if tlsparse.IsGREASE(uint16(sv)) {
			continue
		}
		if !found || versionRank(sv) > versionRank(v) {
			v, found = sv, true
		}
	}
	switch v {
	case tlsparse.VersionTLS13:
		return "13"
	case tlsparse.VersionTLS12:
		return "12"
	case tlsparse.VersionTLS11:
		return "11"
	case tlsparse.VersionTLS10:
		return "10"
	case tlsparse.VersionSSL30:
		return "s3"
	case tlsparse.VersionSSL20:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// versionRank orders versions by protocol age: numerically for TLS, and
// above every TLS value, inverted, for DTLS (0xfeXX, newer is lower).
func versionRank(v tlsparse.Version) int {
	if v>>8 == 0xfe {
		return 0x10000 + 0xff - int(v&0xff)
	}
	return int(v)
}

// alpnChars returns the first and last characters of the first ALPN value
// (RFC 7301, Section 3.1), or of its hex form when either byte is not an
// ASCII letter or digit; "00" when there is no value or it is empty.
func alpnChars(alpn []string) string {
	if len(alpn) == 0 || alpn[0] == "" {
		return "00"
	}
	p := alpn[0]
	first, last := p[0], p[len(p)-1]
	if alnum(first) && alnum(last) {
		return string([]byte{first, last})
	}
	h := hex.EncodeToString([]byte(p))
	return string([]byte{h[0], h[len(h)-1]})
}

func alnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// hexList writes values as 4-digit lower-case hex, comma-separated.
func hexList(vs []uint16) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 5*len(vs))
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf])
	}
	return string(b)
}

// hash12 is the first 12 hex digits of SHA-256 over s, or twelve zeros
// when s is empty.
func hash12(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
