//go:build !libpcap

package filter

import "github.com/gopacket/gopacket/layers"

// Backend names the compiler behind Compile: "go" in the default build,
// "libpcap" in the libpcap build.
const Backend = "go"

// Compile compiles expr for packets of link type lt. In the default build it
// is CompileGo: the common subset of the tcpdump syntax, without cgo. In the
// libpcap build (go build -tags libpcap) it is libpcap's compiler and
// interpreter, with the full syntax.
func Compile(expr string, lt layers.LinkType, snaplen int) (*Filter, error) {
	return CompileGo(expr, lt, snaplen)
}
