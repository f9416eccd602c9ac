//go:build linux

package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/tlsresume/tlsresume/capture/filter"
)

// These tests run with both live implementations: AF_PACKET in the default
// build, libpcap with -tags libpcap. The ones that capture need root (or
// CAP_NET_RAW) and skip without it.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root: run the tests as root (sudo go test ./capture/) to check it")
	}
}

// loopbackName is the name of the loopback interface.
func loopbackName(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 && i.Flags&net.FlagUp != 0 {
			return i.Name
		}
	}
	t.Skip("no loopback interface up")
	return ""
}

// listen starts a TCP listener on 127.0.0.1 that reads every connection to
// its end, and returns its port.
func listen(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// send connects to 127.0.0.1:port, writes msg and closes.
func send(t *testing.T, port int, msg string) {
	t.Helper()
	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// reader runs Next in a goroutine and hands over copies of the packets.
type reader struct {
	pkts chan Packet
	done chan error
}

func startReader(src Source) *reader {
	r := &reader{pkts: make(chan Packet, 10000), done: make(chan error, 1)}
	go func() {
		for {
			p, err := src.Next()
			if err != nil {
				r.done <- err
				close(r.pkts)
				return
			}
			p.Data = bytes.Clone(p.Data)
			r.pkts <- p
		}
	}()
	return r
}

// tcpOf decodes the TCP header of a captured packet.
func tcpOf(t *testing.T, p Packet) *layers.TCP {
	t.Helper()
	first := gopacket.LayerType(layers.LayerTypeEthernet)
	switch p.LinkType {
	case layers.LinkTypeEthernet:
	case layers.LinkTypeRaw:
		first = layers.LayerTypeIPv4
		if len(p.Data) > 0 && p.Data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		}
	case layers.LinkTypeLinuxSLL:
		first = layers.LayerTypeLinuxSLL
	case layers.LinkTypeLinuxSLL2:
		first = layers.LayerTypeLinuxSLL2
	default:
		t.Fatalf("link type %v", p.LinkType)
	}
	pkt := gopacket.NewPacket(p.Data, first, gopacket.Default)
	tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcp == nil {
		t.Fatalf("captured packet without TCP: %v", pkt)
	}
	return tcp
}

// TestLiveCapture captures "tcp port P" on the loopback interface and on
// "any" while connections go to P and to another port: it must see P's SYN
// and data once each, nothing of the other port, and Close from another
// goroutine must end a blocked Next with io.EOF.
func TestLiveCapture(t *testing.T) {
	requireRoot(t)
	for _, iface := range []string{loopbackName(t), "any"} {
		t.Run(iface, func(t *testing.T) {
			port, other := listen(t), listen(t)
			src, err := OpenLive(LiveConfig{Interface: iface, Filter: fmt.Sprintf("tcp port %d", port), Timeout: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			r := startReader(src)

			const msg = "hello from TestLiveCapture"
			send(t, other, "not this one")
			send(t, port, msg)
			send(t, other, "nor this one")

			var syns, data int
			deadline := time.After(10 * time.Second)
		wait:
			for syns < 1 || data < 1 {
				select {
				case p, ok := <-r.pkts:
					if !ok {
						t.Fatalf("Next: %v", <-r.done)
					}
					tcp := tcpOf(t, p)
					if int(tcp.SrcPort) != port && int(tcp.DstPort) != port {
						t.Errorf("packet %v > %v: the filter lets another port through", tcp.SrcPort, tcp.DstPort)
					}
					if tcp.SYN && !tcp.ACK {
						syns++
					}
					if string(tcp.Payload) == msg {
						data++
					}
					if p.CI.CaptureLength != len(p.Data) || p.CI.Timestamp.Location() != time.UTC {
						t.Errorf("capture info %+v", p.CI)
					}
				case <-deadline:
					break wait
				}
			}
			// Let the rest of the connection pass, then close while Next
			// waits in the other goroutine.
			time.Sleep(200 * time.Millisecond)
			for len(r.pkts) > 0 {
				tcp := tcpOf(t, <-r.pkts)
				if int(tcp.SrcPort) != port && int(tcp.DstPort) != port {
					t.Errorf("packet %v > %v: the filter lets another port through", tcp.SrcPort, tcp.DstPort)
				}
				if tcp.SYN && !tcp.ACK {
					syns++
				}
				if string(tcp.Payload) == msg {
					data++
				}
			}
			if syns != 1 || data != 1 {
				t.Errorf("saw %d SYN and %d data segments, want 1 of each (none missed, none twice)", syns, data)
			}
			st := src.Stats()
			closed := time.Now()
			if err := src.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-r.done:
				if err != io.EOF {
					t.Errorf("Next after Close: %v, want io.EOF", err)
				}
				if d := time.Since(closed); d > time.Second {
					t.Errorf("Next took %v to return after Close", d)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("Close did not unblock Next")
			}
			if st.Packets < 3 || st.Bytes == 0 || st.KernelPackets < st.Packets {
				t.Errorf("stats %+v", st)
			}
			if after := src.Stats(); after.KernelPackets < st.KernelPackets || after.Packets < st.Packets {
				t.Errorf("stats after Close %+v, before %+v", after, st)
			}
			if _, err := src.Next(); err != io.EOF {
				t.Errorf("Next after Close: %v, want io.EOF", err)
			}
			if err := src.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// TestLiveSnaplen checks that packets are cut to the snap length.
func TestLiveSnaplen(t *testing.T) {
	requireRoot(t)
	port := listen(t)
	src, err := OpenLive(LiveConfig{Interface: loopbackName(t), Snaplen: 60, Filter: fmt.Sprintf("tcp dst port %d", port), Timeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	r := startReader(src)
	send(t, port, strings.Repeat("x", 1000))
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-r.pkts:
			if len(p.Data) > 60 {
				t.Fatalf("packet of %d bytes with snap length 60", len(p.Data))
			}
			if p.CI.Length > 1000 {
				if st := src.Stats(); st.SnaplenCut == 0 {
					t.Errorf("stats %+v: no SnaplenCut", st)
				}
				return
			}
		case <-deadline:
			t.Fatal("no data segment captured")
		}
	}
}

func TestLiveErrors(t *testing.T) {
	_, err := OpenLive(LiveConfig{Interface: "tlsr-none0"})
	if err == nil || err.Error() != "capture: tlsr-none0: no such interface (tlsresume -D lists them)" || !errors.Is(err, ErrNoSuchInterface) {
		t.Errorf("missing interface: %v", err)
	}
	_, err = OpenLive(LiveConfig{Interface: "999"})
	if err == nil || !errors.Is(err, ErrNoSuchInterface) {
		t.Errorf("interface number 999: %v", err)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			if os.Geteuid() != 0 && filter.Backend == "libpcap" {
				break // libpcap asks for privileges first
			}
			_, err = OpenLive(LiveConfig{Interface: ifc.Name})
			want := "capture: " + ifc.Name + ": interface is down (ip link set " + ifc.Name + " up)"
			if err == nil || err.Error() != want || !errors.Is(err, ErrInterfaceDown) {
				t.Errorf("interface down: %v, want %s", err, want)
			}
			break
		}
	}
	_, err = OpenLive(LiveConfig{})
	if err == nil || err.Error() != "capture: no interface given (tlsresume -D lists them)" {
		t.Errorf("no interface: %v", err)
	}
	// A filter error comes before the socket, without privileges.
	_, err = OpenLive(LiveConfig{Interface: loopbackName(t), Filter: "tcp port"})
	var fe *filter.Error
	if !errors.As(err, &fe) {
		t.Errorf("bad filter: %v", err)
	}
	if os.Geteuid() != 0 {
		src, err := OpenLive(LiveConfig{Interface: loopbackName(t)})
		if err == nil {
			src.Close()
			t.Skip("the test process can capture without root (CAP_NET_RAW)")
		}
		checkPermissionError(t, err, loopbackName(t))
	}
}

func checkPermissionError(t *testing.T, err error, iface string) {
	t.Helper()
	want := "capture: " + iface + ": permission denied: live capture needs root or CAP_NET_RAW (sudo setcap cap_net_raw,cap_net_admin=eip $(which tlsresume))"
	if err == nil || err.Error() != want || !errors.Is(err, os.ErrPermission) {
		t.Errorf("without privileges:\n%v\nwant\n%s", err, want)
	}
}

// TestDropPrivileges runs the test binary again as root, drops to nobody in
// it, and checks there that the ids changed and that a live capture is
// refused with the CAP_NET_RAW message. The test process keeps root.
func TestDropPrivileges(t *testing.T) {
	if os.Getenv("TLSRESUME_TEST_DROP") == "1" {
		if err := DropPrivileges("nobody"); err != nil {
			t.Fatal(err)
		}
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		if strconv.Itoa(os.Getuid()) != u.Uid || strconv.Itoa(os.Geteuid()) != u.Uid || strconv.Itoa(os.Getgid()) != u.Gid {
			t.Fatalf("after DropPrivileges: uid %d euid %d gid %d, want %s %s", os.Getuid(), os.Geteuid(), os.Getgid(), u.Uid, u.Gid)
		}
		if err := DropPrivileges("root"); err == nil {
			t.Fatal("took root back")
		}
		src, err := OpenLive(LiveConfig{Interface: loopbackName(t)})
		if err == nil {
			src.Close()
			t.Fatal("live capture opened as nobody")
		}
		checkPermissionError(t, err, loopbackName(t))
		return
	}
	requireRoot(t)
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDropPrivileges$", "-test.v")
	cmd.Env = append(os.Environ(), "TLSRESUME_TEST_DROP=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestDropPrivileges")) {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

func TestDropPrivilegesUnknownUser(t *testing.T) {
	err := DropPrivileges("tlsresume-no-such-user")
	if err == nil || !strings.HasPrefix(err.Error(), `capture: cannot drop privileges to user "tlsresume-no-such-user": `) {
		t.Errorf("got %v", err)
	}
}

func TestInterfaces(t *testing.T) {
	ifs, err := Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	lo := loopbackName(t)
	var sawLo, sawAny bool
	for i, ifc := range ifs {
		switch ifc.Name {
		case lo:
			sawLo = true
			if !ifc.Loopback || !ifc.Up || ifc.Index == 0 || !strings.HasPrefix(ifc.String(), lo+" [Up") || !strings.HasSuffix(ifc.String(), "Loopback]") {
				t.Errorf("loopback %+v: %s", ifc, ifc)
			}
			if len(ifc.Addrs) == 0 {
				t.Errorf("loopback without addresses: %+v", ifc)
			}
			// tcpdump -i N: the number -D prints.
			if name, err := interfaceName(strconv.Itoa(i + 1)); err != nil || name != lo {
				t.Errorf("interface number %d: %q, %v", i+1, name, err)
			}
		case "any":
			sawAny = true
			if got := ifc.String(); got != "any (Pseudo-device that captures on all interfaces) [Up, Running]" {
				t.Errorf("any: %s", got)
			}
		}
	}
	if !sawLo || !sawAny {
		t.Errorf("interfaces %v: no %s or no any", ifs, lo)
	}
	if got := (Interface{Name: "ifb0"}).String(); got != "ifb0 [none]" {
		t.Errorf("down interface: %s", got)
	}
}

// TestLiveKernelDrops fills a small ring without reading it, so that the
// kernel drops packets, and checks that Stats reports them.
func TestLiveKernelDrops(t *testing.T) {
	requireRoot(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	src, err := OpenLive(LiveConfig{Interface: loopbackName(t), Snaplen: 2000, BufferSize: 1, Filter: fmt.Sprintf("udp dst port %d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	c, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := make([]byte, 1400)
	const sent = 3000
	for range sent {
		c.Write(payload)
	}
	time.Sleep(200 * time.Millisecond)
	st := src.Stats()
	if st.KernelDrops == 0 || st.KernelPackets < sent/2 || st.KernelDrops > st.KernelPackets {
		t.Errorf("%d packets sent into a small ring that nobody reads: stats %+v", sent, st)
	}
	t.Logf("stats %+v", st)
}

// udpSink listens on 127.0.0.1 for UDP and returns a socket connected to
// it, so that datagrams written to the socket cross lo.
func udpSink(t *testing.T) (net.Conn, int) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	c, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, pc.LocalAddr().(*net.UDPAddr).Port
}

// datagram is the payload of the i-th datagram a test sends.
func datagram(i int) []byte { return fmt.Appendf(nil, "datagram %06d of TestLivePoll", i) }

// udpPayload is the UDP payload of a captured IPv4 packet.
func udpPayload(t *testing.T, p Packet) []byte {
	t.Helper()
	pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
	udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if udp == nil {
		t.Fatalf("captured packet without UDP: %v", pkt)
	}
	return udp.Payload
}

// TestLivePoll checks Live.Poll: ErrTimeout within about PollWait when
// nothing comes, then the datagrams sent, each once and in order, in
// place; io.EOF for a Poll blocked in another goroutine when Close comes.
func TestLivePoll(t *testing.T) {
	requireRoot(t)
	c, port := udpSink(t)
	src, err := OpenLive(LiveConfig{Interface: loopbackName(t), Filter: fmt.Sprintf("udp dst port %d", port), Timeout: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	start := time.Now()
	if _, err := src.Poll(); err != ErrTimeout {
		t.Fatalf("Poll without traffic: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 20*PollWait {
		t.Errorf("Poll without traffic took %v, PollWait is %v", d, PollWait)
	}

	const sent = 50
	for i := range sent {
		if _, err := c.Write(datagram(i)); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for deadline := time.Now().Add(5 * time.Second); got < sent && time.Now().Before(deadline); {
		p, err := src.Poll()
		if err == ErrTimeout {
			continue
		}
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if pl := udpPayload(t, p); !bytes.Equal(pl, datagram(got)) {
			t.Fatalf("packet %d: payload %q, want %q", got, pl, datagram(got))
		}
		if p.CI.CaptureLength != len(p.Data) || p.CI.Timestamp.Location() != time.UTC || p.Frame != uint64(got+1) {
			t.Errorf("packet %d: capture info %+v, frame %d", got, p.CI, p.Frame)
		}
		got++
	}
	if got != sent {
		t.Fatalf("%d of %d datagrams captured", got, sent)
	}

	done := make(chan error, 1)
	go func() {
		for {
			if _, err := src.Poll(); err != ErrTimeout {
				done <- err
				return
			}
		}
	}()
	time.Sleep(5 * PollWait)
	closed := time.Now()
	src.Close()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("Poll blocked during Close: %v, want io.EOF", err)
		}
		if d := time.Since(closed); d > time.Second {
			t.Errorf("Poll took %v to return after Close", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not unblock Poll")
	}
	if _, err := src.Poll(); err != io.EOF {
		t.Errorf("Poll after Close: %v, want io.EOF", err)
	}
	if st := src.Stats(); st.Packets != sent || st.KernelPackets < sent {
		t.Errorf("stats %+v after %d datagrams", st, sent)
	}
}

// TestLivePollAllocs pins that reading a live packet allocates nothing:
// a burst of datagrams is sent on lo and each Poll returns one of them,
// in place in the ring. Next, which copies into the source's buffer,
// allocates nothing either.
func TestLivePollAllocs(t *testing.T) {
	requireRoot(t)
	c, port := udpSink(t)
	src, err := OpenLive(LiveConfig{Interface: loopbackName(t), Filter: fmt.Sprintf("udp dst port %d", port), Timeout: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const runs = 500
	for _, read := range []struct {
		name string
		fn   func() (Packet, error)
	}{{"Poll", src.Poll}, {"Next", src.Next}} {
		t.Run(read.name, func(t *testing.T) {
			// AllocsPerRun calls the function once more to warm up.
			for i := range runs + 1 {
				if _, err := c.Write(datagram(i)); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(100 * time.Millisecond) // the kernel retires the blocks
			var got, bad int
			allocs := testing.AllocsPerRun(runs, func() {
				p, err := read.fn()
				if err != nil || len(p.Data) == 0 {
					bad++
					return
				}
				got++
			})
			if bad > 0 || got != runs+1 {
				t.Fatalf("%d packets read, %d reads without one, of %d datagrams sent", got, bad, runs+1)
			}
			if allocs != 0 {
				t.Errorf("%s: %v allocations per live packet, want 0", read.name, allocs)
			}
		})
	}
}
