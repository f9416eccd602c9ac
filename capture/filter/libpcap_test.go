//go:build libpcap

package filter

import (
	"fmt"
	"testing"

	"github.com/gopacket/gopacket"
)

// TestLibpcapAgainstGo compares, in the libpcap build, the verdicts of
// Compile (libpcap's compiler and interpreter) with CompileGo's on every
// link type, for the expressions of the tcpdump cross-check.
func TestLibpcapAgainstGo(t *testing.T) {
	if Backend != "libpcap" {
		t.Fatalf("Backend %q in the libpcap build", Backend)
	}
	ps := testPackets(t)
	compared := 0
	for _, lt := range linkTypes {
		for _, expr := range crossExprs {
			t.Run(fmt.Sprintf("%s/%s", linkTypeName(lt), expr), func(t *testing.T) {
				pf, perr := Compile(expr, lt, 0)
				gf, gerr := CompileGo(expr, lt, 0)
				if (perr == nil) != (gerr == nil) {
					// libpcap refuses a program that rejects everything.
					if perr != nil && gerr == nil && alwaysRejects(t, gf, ps) {
						return
					}
					t.Fatalf("libpcap: %v; Go: %v", perr, gerr)
				}
				if perr != nil {
					return
				}
				if len(pf.RawInstructions()) == 0 {
					t.Fatal("libpcap gave no program")
				}
				for _, p := range ps {
					b, ok := wrap(lt, p)
					if !ok {
						continue
					}
					full, _ := wrap(lt, testPacket{etype: p.etype, l3: p.l3, vlans: p.vlans})
					ci := gopacket.CaptureInfo{CaptureLength: len(b), Length: len(full)}
					if pg, gg := pf.Matches(ci, b), gf.Matches(ci, b); pg != gg {
						t.Errorf("%s: libpcap %v, Go %v", p.name, pg, gg)
					}
					compared++
				}
			})
		}
	}
	t.Logf("%d verdicts compared with libpcap", compared)
}

func alwaysRejects(t *testing.T, f *Filter, ps []testPacket) bool {
	t.Helper()
	for _, p := range ps {
		b, _ := wrap(f.LinkType(), p)
		if f.Matches(gopacket.CaptureInfo{}, b) {
			return false
		}
	}
	return true
}

func TestLibpcapFullSyntax(t *testing.T) {
	ps := testPackets(t)
	f, err := Compile("tcp[tcpflags] & tcp-syn != 0 and len > 50", linkTypes[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := wrap(linkTypes[0], packetNamed(t, ps, v4TLS))
	if !f.Matches(gopacket.CaptureInfo{CaptureLength: len(b), Length: len(b)}, b) {
		t.Error("a SYN does not match")
	}
	if _, err := Compile("tcp port", linkTypes[0], 0); err == nil {
		t.Error("syntax error compiled")
	}
}
