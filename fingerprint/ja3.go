package fingerprint

import (
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// JA3 returns the JA3 string of ch and its MD5 in lower-case hex. The
// string is five comma-separated fields, each a dash-separated list of
// decimal values in wire order, GREASE values left out:
//
//	SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats
//
// SSLVersion is the hello's legacy_version (never supported_versions);
// EllipticCurves is the supported_groups list. An absent list is an empty
// field, so a hello without extensions ends in ",,,".
func JA3(ch *tlsparse.ClientHello) (full, hash string) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(ch.Version)))
	b.WriteByte(',')
	sep := ""
	for _, c := range ch.Suites {
		if !tlsparse.IsGREASE(uint16(c)) {
			b.WriteString(sep)
			b.WriteString(strconv.Itoa(int(c)))
			sep = "-"
		}
	}
	b.WriteByte(',')
	sep = ""
	for _, e := range ch.Extensions {
		if !tlsparse.IsGREASE(uint16(e.Type)) {
			b.WriteString(sep)
			b.WriteString(strconv.Itoa(int(e.Type)))
			sep = "-"
		}
	}
	b.WriteByte(',')
	writeDecimals(&b, ch.SupportedGroups)
	b.WriteByte(',')
	sep = ""
	for _, f := range ch.ECPointFormats {
		b.WriteString(sep)
		b.WriteString(strconv.Itoa(int(f)))
		sep = "-"
	}
	full = b.String()
	sum := md5.Sum([]byte(full))
	return full, hex.EncodeToString(sum[:])
}

// writeDecimals writes the non-GREASE values of list, dash-separated.
func writeDecimals(b *strings.Builder, list []uint16) {
	sep := ""
	for _, v := range list {
		if !tlsparse.IsGREASE(v) {
			b.WriteString(sep)
			b.WriteString(strconv.Itoa(int(v)))
			sep = "-"
		}
	}
}
