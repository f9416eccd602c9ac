package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/tlsresume/tlsresume/sessions"
	"github.com/tlsresume/tlsresume/tlsparse"
	"github.com/tlsresume/tlsresume/verdict"
)

// TestManyServersBounded: 200k distinct servers, one TLS 1.2 full
// handshake each (a session ID assigned, so a session is held too), give
// a summary table of DefaultMaxServers rows plus one "other" row holding
// the rest, a summary under 1 MB, and a live heap that does not grow with
// the servers once the bounds are reached (issue 10 item 2: before the
// bound, 200k servers gave a 65 MB summary line and 238 MB RSS).
func TestManyServersBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 200k observations")
	}
	const n = 200_000
	ss := sessions.New(sessions.Config{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	client := verdict.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 40000}
	sid := make([]byte, 32)
	observe := func(i int) {
		srv := netip.AddrFrom4([4]byte{172, 16 + byte(i>>16), byte(i >> 8), byte(i)})
		sid[0], sid[1], sid[2] = byte(i>>16), byte(i>>8), byte(i)
		ob := verdict.Observation{
			ID: i + 1, TS: t0.Add(time.Duration(i) * time.Millisecond), Transport: verdict.TCP,
			Client: client, Server: verdict.Endpoint{IP: srv, Port: 443},
			ClientHelloFrame: uint64(2*i + 1), ServerHelloFrame: uint64(2*i + 2), History: "HhckdKXFx",
			ClientHello: true, SNI: fmt.Sprintf("s%d.example", i), TicketSupport: true,
			ServerHello: true, Version: tlsparse.VersionTLS12, Cipher: 0xc02f, ServerSessionID: hex.EncodeToString(sid),
			FullFlight: true, ServerCCS: true,
		}
		ss.Observed(&ob)
		if i%10_000 == 0 {
			ss.Tick(ob.TS)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var at50k, held50k uint64
	for i := range n {
		observe(i)
		if i+1 == 50_000 {
			at50k, held50k = heap(), uint64(ss.Held())
		}
	}
	at200k, held200k := heap(), uint64(ss.Held())
	rows := ss.Servers()
	// What of the summary line grows with servers: the table, farm pairs
	// and findings.
	b, err := json.Marshal(map[string]any{"servers": rows, "farms": ss.Farms(), "findings": ss.Findings()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("live heap after GC: %.1f MiB at 50k servers (%d sessions held), %.1f MiB at 200k (%d held); servers table %d rows, servers+farms+findings %d bytes of JSON",
		float64(at50k)/(1<<20), held50k, float64(at200k)/(1<<20), held200k, len(rows), len(b))
	if want := sessions.DefaultMaxServers + 1; len(rows) != want {
		t.Fatalf("servers table has %d rows, want %d (the bound and one other row)", len(rows), want)
	}
	var other *sessions.ServerRow
	for _, r := range rows {
		if r.Other {
			other = r
		}
	}
	if other == nil {
		t.Fatal("no other row")
	}
	if other.Conns != n-sessions.DefaultMaxServers || other.Full != other.Conns {
		t.Errorf("other row: conns=%d full=%d, want the %d servers past the bound", other.Conns, other.Full, n-sessions.DefaultMaxServers)
	}
	if len(b) > 1<<20 {
		t.Errorf("servers, farms and findings are %d bytes of JSON, want under 1 MiB", len(b))
	}
	// Flat: 150k more servers may cost at most 4 MiB (under 28 bytes a
	// server: a leak of one small struct or map entry per server, 48
	// bytes or more, would break it), plus what the held sessions take
	// beyond those held at 50k (their count swings between Max and
	// Max+Max/8 with the sweeps), at the average cost of a held session.
	perSession := float64(at50k) / float64(max(held50k, 1))
	allowed := 4<<20 + max(0, float64(held200k)-float64(held50k))*perSession
	if grow := float64(at200k) - float64(at50k); grow > allowed {
		t.Errorf("live heap grew by %.1f MiB from 50k to 200k servers, want under %.1f MiB", grow/(1<<20), allowed/(1<<20))
	}
}
