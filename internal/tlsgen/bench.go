package tlsgen

import (
	"container/heap"
	"crypto/tls"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/netip"
	"time"
)

// The benchmark capture follows the job mix of the shared benchmark kit's mkcapture.sh
// (nginx, curl and openssl s_client on a veth pair), with crypto/tls on both sides:
//
//   - Two TLS listeners on one server address, :443 and :8443, each with ticket keys of its
//     own, so a session from one is unknown to the other (the rejected offers). RSA 2048
//     certificate, so a full handshake's server flight spans several segments. Plain HTTP on
//     :80 and DNS on :53 on other addresses.
//   - Eight clients (lanes) run jobs one after another; a job's connections follow each
//     other (Connection: close), each after the previous one has ended. Per 100 jobs: 20 one
//     connection; 25 three to six connections without a session cache (full handshakes); 27
//     two to six connections with a cache (a full handshake, then resumptions); 20 chains of
//     two to four, three quarters of them on :443; 2 a session made on :443 offered to :8443,
//     which rejects it; 4 plain HTTP; 2 bursts of 10 to 30 DNS exchanges.
//   - Half the jobs are limited to TLS 1.2 (resumption by ticket), the others TLS 1.3 (PSK).
//     Go's crypto/tls never resumes by session ID, so unlike the nginx capture there are no
//     session-ID resumptions.
//   - About 15% of the jobs use IPv6.
//   - Response bodies, per 1000: 533 of 1 KB, 400 of 16 KB, 60 of 256 KB, 6 of 2 MB, 1 of
//     8 MB (about 42 KB on average), so most of the bytes are application data.
//
// About 300 TLS connections per 100 jobs, about 40% of them resumed. The size is reached by
// estimate: the last jobs run to their end, so the file comes out within a few per cent.

// BenchSNI is the server name every TLS connection of the benchmark capture sends.
const BenchSNI = "bench.example.com"

// BenchDamage is the damage the benchmark capture is made with by default: a little
// reordering and a few retransmissions, some of them overlapping, none of them losing a
// byte, so the analyzer's verdicts must still equal the truth.
var BenchDamage = Damage{Reorder: 0.001, Retransmit: 0.002, Overlap: 0.0005}

const benchLanes = 8

var (
	benchServer4 = netip.MustParseAddr("192.0.2.1")
	benchServer6 = netip.MustParseAddr("2001:db8::1")
	benchHTTP4   = netip.MustParseAddrPort("203.0.113.80:80")
	benchHTTP6   = netip.MustParseAddrPort("[2001:db8::80]:80")
	benchDNS4    = netip.MustParseAddrPort("203.0.113.53:53")
	benchDNS6    = netip.MustParseAddrPort("[2001:db8::53]:53")
)

// BenchServers returns the servers of the benchmark capture: "443" and "8443" over IPv4, and
// "443-v6" and "8443-v6" over IPv6 (the same listeners: same ticket keys).
func BenchServers() []Server {
	var s []Server
	for _, port := range []uint16{443, 8443} {
		name := fmt.Sprint(port)
		s = append(s,
			Server{Name: name, Addr: netip.AddrPortFrom(benchServer4, port), RSA: true, TicketKeys: name},
			Server{Name: name + "-v6", Addr: netip.AddrPortFrom(benchServer6, port), RSA: true, TicketKeys: name})
	}
	return s
}

// GenerateBench writes the benchmark capture of about size bytes to w: the steps of
// [BenchSteps] run by [Stream]. opt.Seed chooses the jobs as well.
func GenerateBench(w io.Writer, size int64, opt Options, truth func(Conn) error) (Stats, error) {
	return Stream(w, "bench", BenchServers(), BenchSteps(size, opt), opt, truth)
}

// BenchSteps yields the steps of the benchmark capture, for the servers of [BenchServers], in
// order of At, until the capture is estimated to hold size bytes. opt gives the seed and the
// timing (RTT, Step, MSS), from which a job knows when its previous connection has ended.
// Every job with a session cache ends with a [DropCache] step, so memory stays flat.
func BenchSteps(size int64, opt Options) iter.Seq[Step] {
	opt = opt.withDefaults()
	return func(yield func(Step) bool) {
		b := &benchPlan{
			opt:    opt,
			rng:    rand.New(rand.NewPCG(uint64(opt.Seed), 0x62656e6368)), // "bench"
			target: size,
		}
		for i := range benchLanes {
			l := &lane{id: i}
			// Lanes start a little apart, as worker processes do.
			l.free = time.Duration(b.rng.IntN(50_000)) * time.Microsecond
			b.lanes = append(b.lanes, l)
		}
		for _, l := range b.lanes {
			// The first job of each lane is of another kind, so that even a small capture has
			// every kind of job.
			b.nextJob(l, l.id)
		}
		heap.Init(&b.lanes)
		for len(b.lanes) > 0 {
			l := b.lanes[0]
			if len(l.pending) == 0 {
				heap.Pop(&b.lanes)
				continue
			}
			st := l.pending[0]
			l.pending = l.pending[1:]
			if len(l.pending) == 0 {
				b.nextJob(l, -1)
			}
			heap.Fix(&b.lanes, 0)
			if !yield(st) {
				return
			}
		}
	}
}

type benchPlan struct {
	opt    Options
	rng    *rand.Rand
	target int64
	est    int64 // estimated bytes of the jobs planned so far
	jobs   int
	lanes  laneHeap
}

// lane is one client running jobs one after another.
type lane struct {
	id      int
	free    time.Duration // when its last job has ended
	pending []Step        // the rest of the current job, in order of At
}

func (l *lane) next() time.Duration {
	if len(l.pending) == 0 {
		return 1<<63 - 1
	}
	return l.pending[0].At
}

type laneHeap []*lane

func (h laneHeap) Len() int { return len(h) }
func (h laneHeap) Less(i, j int) bool {
	a, b := h[i].next(), h[j].next()
	if a != b {
		return a < b
	}
	return h[i].id < h[j].id
}
func (h laneHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *laneHeap) Push(x any)   { *h = append(*h, x.(*lane)) }
func (h *laneHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	*h = old[:len(old)-1]
	return l
}

// fileSize draws a response body size from the mkcapture.sh table.
func (b *benchPlan) fileSize() int {
	switch r := b.rng.IntN(1000); {
	case r < 1:
		return 8 << 20
	case r < 7:
		return 2 << 20
	case r < 67:
		return 256 << 10
	case r < 467:
		return 16 << 10
	default:
		return 1 << 10
	}
}

// httpHead is about the size of the header of a response; the body comes on top.
const httpHead = 80

// wireBytes estimates the capture bytes of a connection whose server sends resp bytes: per
// segment 16 bytes of pcap record and 54 (IPv4) or 74 (IPv6) of headers, an ACK every second
// segment, TLS record overhead, and the handshake.
func (b *benchPlan) wireBytes(resp int, v6, tlsConn, resumed bool) int64 {
	mss, hdr := 1460, 70
	if v6 {
		mss, hdr = 1440, 90
	}
	if b.opt.MSS > 0 {
		mss = b.opt.MSS
	}
	if tlsConn {
		resp += resp / 16384 * 22
	}
	segs := (resp + mss - 1) / mss
	n := int64(resp + segs*hdr + (segs+1)/2*hdr + 10*hdr + 200)
	switch {
	case tlsConn && resumed:
		n += 2200
	case tlsConn:
		n += 5000
	}
	return n
}

// duration is a safe upper bound of how long a connection whose server sends resp bytes
// lasts, SYN to last ACK, on the virtual clock (see the package doc, Time).
func (b *benchPlan) duration(resp int) time.Duration {
	mss := defaultMSS6
	if b.opt.MSS > 0 {
		mss = b.opt.MSS
	}
	segs := (resp+mss-1)/mss + resp/16384 + 16
	return 6*b.opt.RTT + time.Duration(segs)*b.opt.Step + 2*time.Millisecond
}

// The kinds of job, and how many of every 100 jobs are of each kind.
var benchJobs = []struct {
	kind string
	per  int
}{
	{"single", 20}, {"fresh", 25}, {"reuse", 27}, {"chain", 20}, {"cross", 2}, {"http", 4}, {"dns", 2},
}

// nextJob plans the lane's next job, unless the capture is big enough: of the kind numbered
// kind in benchJobs, or drawn at random when kind is out of range.
func (b *benchPlan) nextJob(l *lane, kind int) {
	if b.est >= b.target {
		return
	}
	b.jobs++
	job := b.jobs
	rng := b.rng
	v6 := rng.IntN(100) < 15
	client := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + l.id)})
	if v6 {
		client = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(0x10 + l.id)})
	}
	server := func(port int) string {
		s := fmt.Sprint(port)
		if v6 {
			s += "-v6"
		}
		return s
	}
	var maxVersion uint16
	if rng.IntN(2) == 0 {
		maxVersion = tls.VersionTLS12
	}
	port := 443
	if rng.IntN(100) >= 60 {
		port = 8443
	}
	at := l.free + time.Duration(1+rng.IntN(20))*time.Millisecond // the worker starts the process
	cache := ""
	// conns adds n TLS connections one after another; resumed says the ones after the first
	// are expected to resume (for the size estimate only).
	conns := func(what string, n int, resumed bool) {
		for i := range n {
			resp := httpHead + b.fileSize()
			st := Step{At: at, Kind: TLS, Server: server(port), Client: client, Cache: cache, SNI: BenchSNI,
				MaxVersion: maxVersion, Response: resp, Note: fmt.Sprintf("job %d %s", job, what)}
			l.pending = append(l.pending, st)
			b.est += b.wireBytes(resp, v6, true, resumed && i > 0)
			at += b.duration(resp) + time.Duration(rng.IntN(3000))*time.Microsecond
		}
	}
	r := rng.IntN(100)
	if kind < 0 || kind >= len(benchJobs) {
		for kind = 0; kind < len(benchJobs)-1 && r >= benchJobs[kind].per; kind++ {
			r -= benchJobs[kind].per
		}
	}
	switch benchJobs[kind].kind {
	case "single":
		conns("single", 1, false)
	case "fresh":
		conns("fresh", 3+rng.IntN(4), false)
	case "reuse":
		cache = fmt.Sprintf("job%d", job)
		conns("reuse", 2+rng.IntN(5), true)
	case "chain":
		cache = fmt.Sprintf("job%d", job)
		port = 443
		if rng.IntN(4) == 0 {
			port = 8443
		}
		conns("chain", 2+rng.IntN(3), true)
	case "cross":
		cache = fmt.Sprintf("job%d", job)
		port = 443
		conns("cross", 1, false)
		port = 8443
		conns("cross-offer", 1, false)
	case "http":
		dest := benchHTTP4
		if v6 {
			dest = benchHTTP6
		}
		resp := 0
		for range 1 + rng.IntN(3) {
			resp += httpHead + b.fileSize()
		}
		l.pending = append(l.pending, Step{At: at, Kind: PlainTCP, Client: client, Dest: dest,
			SNI: "plain.example.com", Response: resp, Note: fmt.Sprintf("job %d http", job)})
		b.est += b.wireBytes(resp, v6, false, false)
		at += b.duration(resp)
	case "dns":
		dest := benchDNS4
		if v6 {
			dest = benchDNS6
		}
		for i := range 10 + rng.IntN(21) {
			l.pending = append(l.pending, Step{At: at, Kind: UDP, Client: client, Dest: dest,
				SNI: fmt.Sprintf("host%d.job%d.example.com", i, job)})
			b.est += 2 * 150
			at += time.Duration(1+rng.IntN(20)) * time.Millisecond
		}
	}
	if cache != "" {
		// The client process exits: its cache goes. Its last connection has run by then (steps
		// run one at a time), and nothing later names the cache.
		l.pending = append(l.pending, Step{At: l.pending[len(l.pending)-1].At, Kind: DropCache, Cache: cache})
	}
	l.free = at
}
