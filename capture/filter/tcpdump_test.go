package filter

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
)

// crossExprs are the expressions checked against tcpdump on every link
// type. The ones libpcap refuses must be refused by CompileGo too.
var crossExprs = []string{
	"", "tcp", "udp", "sctp", "ip", "ip6", "arp", "rarp", "icmp", "icmp6",
	"ip and tcp", "ip6 and udp", "not tcp", "!tcp", "not ip6",
	"port 443", "tcp port 443", "udp port 53", "sctp port 80", "port https", "port 0x1bb", "port 0",
	"src port 443", "dst port 443", "tcp src port 443", "udp dst port 53",
	"src or dst port 443", "src and dst port 443", "dst or src port 53",
	"portrange 400-500", "portrange 500-400", "tcp portrange 8000-9000", "udp dst portrange 1-1024",
	"port 443 or port 8443", "tcp port 443 or 8443", "port 80 and not 443", "tcp port 443 or 8443 or 53",
	"host 10.0.0.1", "src host 10.0.0.1", "dst host 10.0.0.1", "ip host 10.0.0.1", "arp host 10.0.0.1",
	"rarp src host 192.168.1.10", "host 1.2.3.4 or 10.1.2.3", "not host 10.0.0.1",
	"host 2001:db8::1", "src host 2001:db8::1", "dst host ::1", "ip6 host 2001:db8:0:1::2",
	"net 10.0.0.0/8", "net 10", "net 192.168", "net 192.168.1.0 mask 255.255.255.0", "src net 10.1.0.0/16",
	"dst net 0.0.0.0/0", "net 10.0.0.0/31", "src and dst net 10.0.0.0/8", "ip net 172.16.0.0/12", "arp net 192.168.1.0/24",
	"net 2001:db8::/32", "ip6 net 2001:db8:0:1::/64", "src net fe80::/10", "net ::/0", "net 2001:db8::/33",
	"ip proto 6", "ip6 proto 17", "proto 132", "ip proto 1", "ip6 proto 58", "proto 44",
	"udp or tcp and port 53", "(udp or tcp) and port 53", "udp or (tcp and port 53)",
	"tcp && port 443 || udp", "! (port 443 or port 53)", "not not tcp", "tcp and (src host 10.0.0.1 or dst host 10.0.0.1)",
	"host 10.0.0.1 and port 443", "ip6 and tcp and dst port 443", "not (host 10.0.0.1 or host 1.2.3.4) and ip",
	"vlan", "vlan 10", "vlan 20", "vlan and tcp port 443", "vlan 10 and ip6", "vlan and vlan 20 and tcp",
	"tcp port 443 or (vlan and tcp port 443)", "vlan and host 10.0.0.1", "not vlan",
	// Refused by libpcap as well.
	"tcp 443", "ip 10.0.0.1", "ip6 host 1.2.3.4", "host 10.0.0.0/8", "net 10.0.0.1/8", "ip port 80",
	"tcp host 1.2.3.4", "port 70000", "tcp and", "(tcp", "tcp)", "and tcp", "443",
}

// linkExprs are the expressions of crossExprs checked on the link types
// other than Ethernet: those that read the link layer or the offsets behind
// it (each tcpdump run costs some 25 ms).
var linkExprs = []string{
	"", "tcp", "udp", "ip", "ip6", "arp", "icmp6", "not ip6", "port 443", "tcp src port 443",
	"portrange 400-500", "host 10.0.0.1", "dst host 10.0.0.1", "arp host 10.0.0.1", "src host 2001:db8::1",
	"net 10.0.0.0/8", "net 2001:db8::/32", "ip6 proto 17", "udp or tcp and port 53",
	"host 10.0.0.1 and port 443", "vlan", "vlan and tcp port 443", "tcp 443",
}

// tcpdumpOrSkip returns tcpdump's path, or skips the test.
func tcpdumpOrSkip(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not installed (apt-get install -y tcpdump): the cross-check against libpcap does not run")
	}
	return path
}

// writeCapture writes the packets that can be carried on lt to a pcap file;
// packet i has timestamp i+1 seconds. It returns the packets written.
func writeCapture(t *testing.T, path string, lt layers.LinkType, ps []testPacket) (names []string, data [][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		b, ok := wrap(lt, p)
		if !ok {
			continue
		}
		full := b
		if p.cut > 0 {
			full, _ = wrap(lt, testPacket{etype: p.etype, l3: p.l3, vlans: p.vlans})
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(len(data)+1), 0), CaptureLength: len(b), Length: len(full)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
		names = append(names, p.name)
		data = append(data, b)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return names, data
}

// tcpdumpMatches runs tcpdump -r on the file and returns the indices of the
// packets it printed, or its error message.
func tcpdumpMatches(t *testing.T, tcpdump, path, expr string, n int) ([]bool, string) {
	t.Helper()
	cmd := exec.Command(tcpdump, "-r", path, "-n", "-tt", "-q", "--", expr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	got := make([]bool, n)
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "expression rejects all packets") {
			// libpcap's optimizer refuses a program that is always false.
			return got, ""
		}
		return nil, msg
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		sec, _, ok := strings.Cut(sc.Text(), ".")
		i, err := strconv.Atoi(sec)
		if !ok || err != nil || i < 1 || i > n {
			continue
		}
		got[i-1] = true
	}
	return got, ""
}

// tcpdumpProgram compiles expr with tcpdump -ddd for the file's link type.
func tcpdumpProgram(t *testing.T, tcpdump, path, expr string) []bpf.RawInstruction {
	t.Helper()
	out, err := exec.Command(tcpdump, "-r", path, "-ddd", "--", expr).Output()
	if err != nil {
		t.Fatalf("tcpdump -ddd %q: %v", expr, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var prog []bpf.RawInstruction
	for _, line := range lines[1:] {
		var ri bpf.RawInstruction
		if _, err := fmt.Sscan(line, &ri.Op, &ri.Jt, &ri.Jf, &ri.K); err != nil {
			t.Fatalf("tcpdump -ddd %q: line %q: %v", expr, line, err)
		}
		prog = append(prog, ri)
	}
	return prog
}

// TestAgainstTcpdump compares, for every expression of crossExprs on
// Ethernet and of linkExprs on the other link types, which packets CompileGo's program accepts with which packets
// tcpdump -r prints (libpcap's compiler and interpreter), and checks that
// tcpdump's own program (-ddd) gives the same verdicts in the bpf VM.
func TestAgainstTcpdump(t *testing.T) {
	if Backend == "libpcap" {
		t.Skip("the libpcap build checks CompileGo against libpcap in process (TestLibpcapAgainstGo); the tcpdump cross-check runs in the default build")
	}
	tcpdump := tcpdumpOrSkip(t)
	ps := testPackets(t)
	dir := t.TempDir()
	var compared atomic.Int64
	lts := linkTypes
	if testing.Short() {
		lts = lts[:1]
	}
	for _, lt := range lts {
		path := filepath.Join(dir, fmt.Sprintf("lt%d.pcap", lt))
		names, data := writeCapture(t, path, lt, ps)
		exprs := crossExprs
		if lt != layers.LinkTypeEthernet {
			exprs = linkExprs
		}
		for _, expr := range exprs {
			t.Run(fmt.Sprintf("%s/%s", linkTypeName(lt), expr), func(t *testing.T) {
				t.Parallel()
				want, tdErr := tcpdumpMatches(t, tcpdump, path, expr, len(names))
				f, err := CompileGo(expr, lt, 0)
				switch {
				case tdErr != "" && err == nil:
					t.Fatalf("tcpdump refuses %q (%s), CompileGo accepts it", expr, tdErr)
				case tdErr == "" && err != nil:
					t.Fatalf("tcpdump accepts %q, CompileGo: %v", expr, err)
				case err != nil:
					return
				}
				var vm *bpf.VM
				if lt == layers.LinkTypeEthernet && !allFalse(want) {
					vm = vmFor(t, tcpdumpProgram(t, tcpdump, path, expr))
				}
				for i, b := range data {
					ci := gopacket.CaptureInfo{CaptureLength: len(b), Length: len(b)}
					if got := f.Matches(ci, b); got != want[i] {
						t.Errorf("%s: CompileGo says %v, tcpdump %v\nours:\n%s", names[i], got, want[i], listing(f.Instructions()))
					}
					if vm == nil {
						continue
					}
					if n, _ := vm.Run(b); (n > 0) != want[i] {
						t.Errorf("%s: tcpdump's program in the bpf VM says %v, tcpdump -r %v", names[i], n > 0, want[i])
					}
				}
				compared.Add(int64(len(data)))
			})
		}
	}
	t.Cleanup(func() { t.Logf("%d verdicts compared with tcpdump", compared.Load()) })
}

func allFalse(v []bool) bool {
	for _, b := range v {
		if b {
			return false
		}
	}
	return true
}

func vmFor(t *testing.T, raw []bpf.RawInstruction) *bpf.VM {
	t.Helper()
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("cannot disassemble %v", raw)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// listing prints a program one instruction a line, for failure messages.
func listing(prog []bpf.Instruction) string {
	var b strings.Builder
	for i, in := range prog {
		fmt.Fprintf(&b, "(%03d) %v\n", i, in)
	}
	return b.String()
}
