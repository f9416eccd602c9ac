package tlsgen

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The benchmark capture on a small size: the mix is what BenchSteps promises, the capture is
// valid TCP throughout, the truth matches it, and the stats agree with the truth.
func TestBench(t *testing.T) {
	t.Parallel()
	const size = 20e6
	var buf bytes.Buffer
	var conns []Conn
	start := time.Now()
	st, err := GenerateBench(&buf, size, Options{Seed: 1}, func(c Conn) error {
		conns = append(conns, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.1f MB in %v: %+v", float64(buf.Len())/1e6, time.Since(start), st)
	if st.Bytes != int64(buf.Len()) {
		t.Errorf("stats say %d bytes, wrote %d", st.Bytes, buf.Len())
	}
	if n := float64(buf.Len()); n < 0.8*size || n > 1.3*size {
		t.Errorf("%.1f MB for a target of %.0f", n/1e6, size/1e6)
	}

	pkts := readCapture(t, buf.Bytes(), false)
	sum := checkCapture(t, pkts)
	plain := checkTruthMatchesCapture(t, conns, sum)
	checkConsistent(t, conns, false)
	if int64(len(pkts)) != st.Packets {
		t.Errorf("stats say %d packets, read %d", st.Packets, len(pkts))
	}

	got := count(conns)
	var v12, v13, v6 int
	for _, c := range conns {
		switch c.Version {
		case "TLS 1.2":
			v12++
		case "TLS 1.3":
			v13++
		}
		if c.Client.Addr().Is6() {
			v6++
		}
	}
	want := Stats{
		Packets: st.Packets, Bytes: st.Bytes, TLS: len(conns), PlainTCP: plain, UDP: sum.udp / 2,
		Resumed: got.ticket + got.psk, Ticket: got.ticket, PSK: got.psk, Rejected: got.rejected,
		TLS12: v12, TLS13: v13,
	}
	if st != want {
		t.Errorf("stats %+v\ntruth %+v", st, want)
	}
	share := float64(st.Resumed) / float64(st.TLS)
	if share < 0.30 || share > 0.50 {
		t.Errorf("%.1f%% resumed, want 30-50%%", 100*share)
	}
	if v12 == 0 || v13 == 0 || got.ticket == 0 || got.psk == 0 {
		t.Errorf("TLS 1.2 %d (resumed %d), TLS 1.3 %d (resumed %d)", v12, got.ticket, v13, got.psk)
	}
	if got.rejected == 0 || plain == 0 || sum.udp == 0 {
		t.Errorf("rejected %d, plain TCP %d, UDP datagrams %d", got.rejected, plain, sum.udp)
	}
	if got.hrr != 0 {
		t.Errorf("%d HelloRetryRequests", got.hrr)
	}
	if f := float64(v6) / float64(len(conns)); f < 0.05 || f > 0.30 {
		t.Errorf("%.1f%% of TLS connections over IPv6", 100*f)
	}
	// Most bytes are application data; frames are at most 1514 bytes, most of them full.
	var body int
	for _, f := range sum.flows {
		body += f.serverBytes
	}
	if f := float64(body) / float64(buf.Len()); f < 0.75 {
		t.Errorf("server payload is %.0f%% of the file", 100*f)
	}
	full := 0
	for _, p := range pkts {
		if p.ci.Length > 1514 {
			t.Fatalf("frame of %d bytes", p.ci.Length)
		}
		if p.ci.Length == 1514 {
			full++
		}
	}
	if full < len(pkts)/3 {
		t.Errorf("%d of %d frames are 1514 bytes", full, len(pkts))
	}
	// A resumption is never offered to the other listener but in the cross jobs.
	for _, c := range conns {
		if c.Rejected != strings.HasSuffix(c.Note, "cross-offer") {
			t.Errorf("conn %d (%s): rejected=%v", c.ID, c.Note, c.Rejected)
		}
	}
}

// The plan is in time order, and every session cache is dropped once, after its last use.
func TestBenchSteps(t *testing.T) {
	var last time.Duration
	used := make(map[string]time.Duration)
	dropped := make(map[string]bool)
	kinds := make(map[Kind]int)
	n := 0
	for st := range BenchSteps(200e6, Options{Seed: 4}) {
		n++
		kinds[st.Kind]++
		if st.At < last {
			t.Fatalf("step %d at %v, after %v", n, st.At, last)
		}
		last = st.At
		switch st.Kind {
		case DropCache:
			if _, ok := used[st.Cache]; !ok || dropped[st.Cache] {
				t.Errorf("step %d drops %q: used %v, dropped %v", n, st.Cache, ok, dropped[st.Cache])
			}
			dropped[st.Cache] = true
		case TLS:
			if st.Cache != "" {
				if dropped[st.Cache] {
					t.Errorf("step %d uses %q after it was dropped", n, st.Cache)
				}
				used[st.Cache] = st.At
			}
		}
	}
	if len(dropped) != len(used) {
		t.Errorf("%d caches used, %d dropped", len(used), len(dropped))
	}
	if kinds[TLS] < 3000 || kinds[PlainTCP] == 0 || kinds[UDP] == 0 || kinds[RotateKeys] != 0 {
		t.Errorf("steps by kind: %v", kinds)
	}
	// Stopping early stops the plan.
	for range BenchSteps(200e6, Options{Seed: 4}) {
		break
	}
}

// Apart from the bytes crypto/tls draws from crypto/rand, a seed gives the same capture: the
// bench uses RSA only, whose signatures have a fixed length, so even the packet sizes are
// fixed.
func TestBenchDeterministic(t *testing.T) {
	t.Parallel()
	type pkt struct {
		at time.Time
		n  int
	}
	layout := func(seed int64) ([]Conn, []pkt) {
		var buf bytes.Buffer
		var conns []Conn
		_, err := GenerateBench(&buf, 3e6, Options{Seed: seed, Damage: BenchDamage}, func(c Conn) error {
			c.Offer, c.Issued = "", nil
			conns = append(conns, c)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var l []pkt
		for _, p := range readCapture(t, buf.Bytes(), false) {
			l = append(l, pkt{p.ci.Timestamp, p.ci.Length})
		}
		return conns, l
	}
	c1, l1 := layout(5)
	c2, l2 := layout(5)
	if !reflect.DeepEqual(c1, c2) {
		t.Error("truth differs between runs")
	}
	if !slices.Equal(l1, l2) {
		t.Errorf("capture layout differs between runs (%d and %d packets)", len(l1), len(l2))
	}
	c3, _ := layout(6)
	if reflect.DeepEqual(c1, c3) {
		t.Error("seeds 5 and 6 give the same truth")
	}
}

func TestStream(t *testing.T) {
	s := Server{Name: "s", Addr: ap("192.0.2.1:443")}
	c := v4("198.51.100.1")
	tlsStep := func(at time.Duration) Step {
		return Step{At: at, Server: "s", Client: c, Cache: "c", SNI: "x.example.com"}
	}
	steps := []Step{
		tlsStep(0), tlsStep(time.Second),
		{At: 2 * time.Second, Kind: DropCache, Cache: "c"},
		tlsStep(3 * time.Second), tlsStep(4 * time.Second),
	}
	var got []string
	st, err := Stream(&bytes.Buffer{}, "drop", []Server{s}, slices.Values(steps), Options{}, func(c Conn) error {
		got = append(got, c.Handshake())
		if c.Step != []int{0, 1, 3, 4}[c.ID-1] {
			t.Errorf("conn %d is step %d", c.ID, c.Step)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"full", "resumed", "full", "resumed"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (a dropped cache starts empty)", got, want)
	}
	if st.TLS != 4 || st.Resumed != 2 || st.TLS13 != 4 {
		t.Errorf("stats %+v", st)
	}

	for _, tc := range []struct {
		name  string
		steps []Step
	}{
		{"out-of-order", []Step{tlsStep(time.Second), tlsStep(0)}},
		{"drop-nothing", []Step{{Kind: DropCache}}},
		{"unknown-server", []Step{{Server: "x", Client: c}}},
	} {
		if _, err := Stream(&bytes.Buffer{}, tc.name, []Server{s}, slices.Values(tc.steps), Options{},
			func(Conn) error { return nil }); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	stop := errors.New("stop")
	if _, err := Stream(&bytes.Buffer{}, "stop", []Server{s}, slices.Values(steps), Options{},
		func(Conn) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("err = %v, want the truth callback's", err)
	}
}

func TestTruthWriterEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := NewTruthWriter(&buf).Flush(); err != nil {
		t.Fatal(err)
	}
	conns, err := ReadTruth(&buf)
	if err != nil || len(conns) != 0 {
		t.Errorf("%v, %v", conns, err)
	}
}

func TestResponse(t *testing.T) {
	for _, n := range []int{0, 10, 66, 67, 68, 100, 3000, 16<<10 + 80, 1 << 20} {
		r := string(response(n))
		head, body, ok := strings.Cut(r, "\r\n\r\n")
		if !ok {
			t.Fatalf("%d: no header end in %q", n, r)
		}
		if n >= len(head)+4 && len(r) != n {
			t.Errorf("%d: %d bytes", n, len(r))
		}
		if want := "Content-Length: " + strconv.Itoa(len(body)); !strings.Contains(head, want) {
			t.Errorf("%d: header %q, want %q", n, head, want)
		}
		if filler := "The quick brown fox jumps over the lazy dog. "; !strings.HasPrefix(strings.Repeat(filler, len(body)/len(filler)+1), body) {
			t.Errorf("%d: body is not the filler", n)
		}
	}
}

// What a Stream keeps does not grow with the capture: every session cache is dropped at the
// end of its job, the kept responses are bounded, and client addresses are few.
func TestBenchMemory(t *testing.T) {
	opt := Options{Seed: 3}
	var w countWriter
	g, err := newGen(&w, "bench", BenchServers(), opt, func(Conn) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	caches := 0
	i := 0
	for st := range BenchSteps(10e6, opt) {
		if err := g.step(i, &st); err != nil {
			t.Fatal(err)
		}
		i++
		caches = max(caches, len(g.caches))
	}
	if _, err := g.close(); err != nil {
		t.Fatal(err)
	}
	if len(g.caches) != 0 || caches > benchLanes {
		t.Errorf("%d session caches left, %d at most at once", len(g.caches), caches)
	}
	if g.kept > maxKeptResponses || len(g.ports) > 2*benchLanes {
		t.Errorf("%d bytes of responses kept, %d client addresses", g.kept, len(g.ports))
	}
	if len(g.out.h) != 0 {
		t.Errorf("%d packets left in the queue", len(g.out.h))
	}
}
