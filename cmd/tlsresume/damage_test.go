package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsresume/tlsresume/internal/tlsgen"
)

// runBytes runs the command in-process on a capture given as stdin.
func runBytes(t testing.TB, data []byte, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"-r", "-"}, args...), bytes.NewReader(data), &out, &errb)
	return out.String(), errb.String(), code
}

// longRun says TLSRESUME_LONG=1: the damage and truncation tests then try
// every seed and offset they know, for minutes instead of seconds.
func longRun() bool { return os.Getenv("TLSRESUME_LONG") == "1" }

// damageSeeds is how many seeds each damaged scenario is generated with:
// 1, 5 with TLSRESUME_LONG=1, or TLSRESUME_DAMAGE_SEEDS.
func damageSeeds(t *testing.T) int {
	if longRun() && os.Getenv("TLSRESUME_DAMAGE_SEEDS") == "" {
		return 5
	}
	if s := os.Getenv("TLSRESUME_DAMAGE_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("TLSRESUME_DAMAGE_SEEDS=%q", s)
		}
		return n
	}
	return 1
}

// damageCase is one way to spoil a capture. exact says no byte is lost, so
// every verdict must equal the truth.
type damageCase struct {
	name  string
	d     tlsgen.Damage
	exact bool
	big   bool // also run on the mixed scenario by default (else only with more seeds)
}

var damageCases = []damageCase{
	{"loss-1pct", tlsgen.Damage{Loss: 0.01}, false, false},
	{"loss-5pct", tlsgen.Damage{Loss: 0.05}, false, true},
	{"loss-20pct", tlsgen.Damage{Loss: 0.2}, false, false},
	{"reorder", tlsgen.Damage{Reorder: 0.3}, true, false},
	{"retransmit", tlsgen.Damage{Retransmit: 0.3}, true, false},
	// The first copy is what the stacks exchanged; a later copy with other
	// bytes must not replace it.
	{"retransmit-altered", tlsgen.Damage{RetransmitAltered: 0.3}, true, false},
	{"overlap", tlsgen.Damage{Overlap: 0.3}, true, false},
	{"reorder-retransmit-overlap", tlsgen.Damage{Reorder: 0.2, Retransmit: 0.2, RetransmitAltered: 0.1, Overlap: 0.2}, true, true},
	{"one-byte", tlsgen.Damage{OneByte: true}, true, false},
	{"skip-first-7", tlsgen.Damage{SkipFirst: 7}, false, false},
	{"skip-first-40", tlsgen.Damage{SkipFirst: 40}, false, false},
	{"snaplen-60", tlsgen.Damage{Snaplen: 60}, false, false},
	{"snaplen-200", tlsgen.Damage{Snaplen: 200}, false, true},
	{"snaplen-1000", tlsgen.Damage{Snaplen: 1000}, false, false},
	{"loss-reorder-retransmit", tlsgen.Damage{Loss: 0.05, Reorder: 0.2, Retransmit: 0.2, RetransmitAltered: 0.1}, false, false},
}

// TestDamagedCaptures spoils generated captures (loss, reordering,
// retransmissions with the same or other bytes, overlaps, one-byte
// segments, a start mid-connection, snaplen) and checks the verdicts
// against the truth of the crypto/tls stacks:
//   - the command exits 0 with valid output;
//   - no connection is said to be resumed, or resumed by another method,
//     unless the stacks resumed it so, and unless the intact capture of the
//     same run says so too;
//   - without loss every verdict equals the truth;
//   - after a start mid-connection, the connections that start after the
//     first captured packet get the truth's verdict.
func TestDamagedCaptures(t *testing.T) {
	seeds := damageSeeds(t)
	for _, sc := range []string{"mixed", "concurrent", "ticket-chain", "rejected-after-key-change"} {
		for seed := int64(1); seed <= int64(seeds); seed++ {
			for _, dc := range damageCases {
				if sc == "mixed" && !dc.big && seeds == 1 {
					continue
				}
				if sc == "mixed" && dc.d.OneByte {
					continue // over a million packets
				}
				t.Run(fmt.Sprintf("%s/seed%d/%s", sc, seed, dc.name), func(t *testing.T) {
					t.Parallel()
					checkDamaged(t, sc, seed, dc)
				})
			}
		}
	}
}

func checkDamaged(t *testing.T, sc string, seed int64, dc damageCase) {
	opt := tlsgen.Options{Seed: seed, Response: 300}
	var intactBuf bytes.Buffer
	intactTruth, err := tlsgen.Generate(&intactBuf, tlsgen.Scenarios()[sc], opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Damage = dc.d
	var buf bytes.Buffer
	truth, err := tlsgen.Generate(&buf, tlsgen.Scenarios()[sc], opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(truth) != len(intactTruth) {
		t.Fatalf("damage changed the truth: %d and %d conns", len(truth), len(intactTruth))
	}
	out, errs, code := runBytes(t, buf.Bytes())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	conns, _ := parseEvents(t, out)
	iout, ierrs, icode := runBytes(t, intactBuf.Bytes())
	if icode != 0 {
		t.Fatalf("intact: exit %d: %s", icode, ierrs)
	}
	intact, _ := parseEvents(t, iout)

	checkNoFalseResumption(t, conns, truth, intact)
	if dc.exact {
		checkAgainstTruth(t, conns, truth)
		return
	}
	if dc.d.SkipFirst > 0 {
		first := firstTimestamp(t, buf.Bytes())
		var after []tlsgen.Conn
		for _, tr := range truth {
			if tr.Start.After(first) {
				after = append(after, tr)
			}
		}
		checkVerdicts(t, conns, after)
	}
	found := 0
	for _, c := range conns {
		if c.Handshake != "unknown" {
			found++
		}
	}
	t.Logf("%d of %d connections with a verdict", found, len(truth))
}

// tupleOf names a connection by its endpoints: with loss or a start
// mid-connection, ids follow the captured packets, not the truth's flows.
func tupleOf(c event) string {
	return fmt.Sprintf("%s:%d-%s:%d", c.Client.IP, c.Client.Port, c.Server.IP, c.Server.Port)
}

func truthTuple(tr tlsgen.Conn) string {
	return fmt.Sprintf("%s:%d-%s:%d", tr.Client.Addr(), tr.Client.Port(), tr.Server.Addr(), tr.Server.Port())
}

func method(c event) string {
	if c.Resumption == nil {
		return ""
	}
	return *c.Resumption
}

// checkNoFalseResumption checks that every resumption the damaged capture
// reports was made by the stacks, by that method, and is reported by the
// intact capture too. Connections are matched by their endpoints.
func checkNoFalseResumption(t *testing.T, conns []event, truth []tlsgen.Conn, intact []event) {
	t.Helper()
	byTuple := map[string]tlsgen.Conn{}
	for _, tr := range truth {
		byTuple[truthTuple(tr)] = tr
	}
	intactByTuple := map[string]event{}
	for _, c := range intact {
		intactByTuple[tupleOf(c)] = c
	}
	for _, c := range conns {
		if c.Handshake != "resumed" {
			continue
		}
		m := method(c)
		tr, ok := byTuple[tupleOf(c)]
		switch {
		case !ok:
			t.Errorf("conn %d (%s): resumed by %q, the stacks made no TLS connection between these endpoints", c.ID, tupleOf(c), m)
		case !tr.Resumed:
			t.Errorf("conn %d (%s): resumed by %q, the stacks made a full handshake (notes %v)", c.ID, tupleOf(c), m, c.Notes)
		case tr.Method != m:
			t.Errorf("conn %d (%s): resumed by %q, the stacks resumed by %q", c.ID, tupleOf(c), m, tr.Method)
		}
		ic, ok := intactByTuple[tupleOf(c)]
		if !ok || ic.Handshake != "resumed" || method(ic) != m {
			t.Errorf("conn %d (%s): resumed by %q, the intact capture says %q %q", c.ID, tupleOf(c), m, ic.Handshake, method(ic))
		}
	}
}

// checkVerdicts compares version, verdict and method with the truth, for
// the connections given (every one must have a conn event).
func checkVerdicts(t *testing.T, conns []event, truth []tlsgen.Conn) {
	t.Helper()
	byTuple := map[string]event{}
	for _, c := range conns {
		byTuple[tupleOf(c)] = c
	}
	for _, tr := range truth {
		c, ok := byTuple[truthTuple(tr)]
		if !ok {
			t.Errorf("truth conn %d (flow %d, %s, start %v): no conn event", tr.ID, tr.Flow, truthTuple(tr), tr.Start)
			continue
		}
		if c.Version != tr.Version || c.Handshake != tr.Handshake() || method(c) != tr.Method {
			t.Errorf("conn %d (%s): %s %s %q, the stacks made %s %s %q (notes %v)", c.ID, tupleOf(c), c.Version, c.Handshake, method(c),
				tr.Version, tr.Handshake(), tr.Method, c.Notes)
		}
	}
}

// firstTimestamp is the time of a pcap's first packet.
func firstTimestamp(t *testing.T, b []byte) time.Time {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	_, ci, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	return ci.Timestamp
}
