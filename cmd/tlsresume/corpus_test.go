package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The corpus agreement test runs every capture of testdata/pcaps/corpus
// (real captures from Zeek, Suricata, Wireshark, Arkime, nDPI, mercury, ...)
// and compares each TLS-over-TCP handshake attempt of its tshark-derived
// ground truth (groundtruth/*.tsv, made by gt.py; see testdata/pcaps/README.md)
// with our conn event, under DESIGN.md's resumption rules:
//
//   - verdict: full, resumed by session_id / ticket / psk, or unknown;
//   - rejected: an offer followed by a full handshake;
//   - compat: TLS 1.3 with an echoed legacy session ID is never resumed
//     unless the server selected a PSK;
//   - resumes: a TLS 1.2 resumption linked by the ground truth to an
//     earlier connection in the capture points at that connection;
//   - offered: what the ClientHello offered for resumption;
//   - missing: every attempt has a conn event, matched by tshark's
//     tcp.stream (id = stream + 1) and its addresses.
//
// Every disagreement must be listed in corpusExceptions with the reason,
// and every listed exception must still occur.

const corpusDir = "../../testdata/pcaps/corpus"

// corpusException is a known, explained disagreement with the ground truth.
type corpusException struct {
	capture string // path under testdata/pcaps/corpus
	stream  string // ground-truth stream ("tcp:3"), "" for the whole capture
	check   string // exit, verdict, rejected, compat, resumes, offered, missing, id, endpoints
	got     string // what we say
	want    string // what the ground truth (read by DESIGN.md's rules) says
	why     string // checked with tshark
}

// corpusExceptions lists every disagreement. Keep it true: an entry that no
// longer occurs fails the test.
var corpusExceptions = []corpusException{}

// corpusRow is one ground-truth handshake attempt.
type corpusRow map[string]string

func (r corpusRow) int(k string) int {
	n, _ := strconv.Atoi(r[k])
	return n
}

func (r corpusRow) tls13() bool {
	v := r["neg_version"]
	return v == "0x0304" || strings.HasPrefix(v, "0x7f") || strings.HasPrefix(v, "0x7e") ||
		strings.HasPrefix(v, "0xfb") || v == "0xfefc"
}

// inferred reports whether gt.py's TLS 1.2 decision rests only on the
// absence of server messages (nothing after the ServerHello was seen).
func (r corpusRow) inferred() bool {
	return strings.Contains(r["notes"], "-> inferred")
}

// chFrame is the frame of the (last) ClientHello, 0 when none was seen.
func (r corpusRow) chFrame() int {
	f := r["ch_frame"]
	if i := strings.LastIndexByte(f, ','); i >= 0 {
		f = f[i+1:]
	}
	n, _ := strconv.Atoi(f)
	return n
}

func readCorpusTSV(t *testing.T, name string) []corpusRow {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: empty", name)
	}
	var rows []corpusRow
	for _, rec := range recs[1:] {
		row := corpusRow{}
		for i, k := range recs[0] {
			if i < len(rec) {
				row[k] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// corpusCaptures returns the captures listed in MANIFEST.tsv.
func corpusCaptures(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range readCorpusTSV(t, filepath.Join(corpusDir, "MANIFEST.tsv")) {
		out = append(out, r["path"])
	}
	if len(out) == 0 {
		t.Fatal("no captures in MANIFEST.tsv")
	}
	return out
}

type corpusEndpoint struct {
	IP   string `json:"ip"`
	Port int    `json:"port"`
}

func (e corpusEndpoint) String() string {
	return netip.AddrPortFrom(netip.MustParseAddr(e.IP), uint16(e.Port)).String()
}

type corpusConn struct {
	Type       string         `json:"type"`
	ID         int            `json:"id"`
	Client     corpusEndpoint `json:"client"`
	Server     corpusEndpoint `json:"server"`
	Version    string         `json:"version"`
	Handshake  string         `json:"handshake"`
	Resumption *string        `json:"resumption"`
	Offered    []string       `json:"offered"`
	Rejected   bool           `json:"rejected"`
	Session    *string        `json:"session"`
	Resumes    *int           `json:"resumes"`
	History    string         `json:"history"`
	Notes      []string       `json:"notes"`
}

func (c *corpusConn) verdict() string {
	if c.Resumption != nil {
		return c.Handshake + "/" + *c.Resumption
	}
	return c.Handshake
}

type corpusSummary struct {
	TLSConnections int            `json:"tls_connections"`
	Full           int            `json:"full"`
	Resumed        int            `json:"resumed"`
	Unknown        int            `json:"unknown"`
	Rejected       int            `json:"rejected"`
	ByMethod       map[string]int `json:"by_method"`
}

// parseCorpusOutput checks that out is NDJSON ending with exactly one
// summary and returns the conn events and the summary.
func parseCorpusOutput(t *testing.T, out []byte) ([]*corpusConn, corpusSummary) {
	t.Helper()
	var conns []*corpusConn
	var sum corpusSummary
	summaries := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			t.Fatalf("line %d: not JSON: %v: %.200s", n, err, line)
		}
		if summaries > 0 {
			t.Fatalf("line %d: %q event after the summary", n, head.Type)
		}
		switch head.Type {
		case "conn":
			c := new(corpusConn)
			if err := json.Unmarshal(line, c); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			conns = append(conns, c)
		case "session":
		case "summary":
			summaries++
			if err := json.Unmarshal(line, &sum); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
		default:
			t.Fatalf("line %d: unknown type %q", n, head.Type)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		t.Fatal("output does not end with a newline")
	}
	if summaries != 1 {
		t.Fatalf("%d summaries, want 1 as the last line", summaries)
	}
	if sum.Full+sum.Resumed+sum.Unknown != sum.TLSConnections || sum.TLSConnections != len(conns) {
		t.Errorf("summary: full %d + resumed %d + unknown %d, tls_connections %d, conn events %d",
			sum.Full, sum.Resumed, sum.Unknown, sum.TLSConnections, len(conns))
	}
	methods, rejected := 0, 0
	for _, n := range sum.ByMethod {
		methods += n
	}
	for _, c := range conns {
		if c.Rejected {
			rejected++
		}
	}
	if methods != sum.Resumed || rejected != sum.Rejected {
		t.Errorf("summary: by_method adds up to %d, resumed %d; rejected %d, rejected conns %d",
			methods, sum.Resumed, sum.Rejected, rejected)
	}
	return conns, sum
}

// corpusDisagreement is one difference between our output and the truth.
type corpusDisagreement struct {
	stream, check, got, want, detail string
}

// corpusStats counts what was compared, for the log.
type corpusStats struct {
	mu       sync.Mutex
	captures int
	attempts int
	checks   map[string][2]int // check -> agree, disagree
	extra    int               // conn events with no ground-truth row
}

func (s *corpusStats) add(check string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.checks[check]
	if ok {
		v[0]++
	} else {
		v[1]++
	}
	s.checks[check] = v
}

// expectedVerdict is the verdict DESIGN.md's rules give for a ground-truth
// row: gt.py's decision, except where it rests on evidence DESIGN calls weak.
func expectedVerdict(r corpusRow) string {
	switch r["decision"] {
	case "full":
		if r.inferred() {
			// DESIGN: evidence that is only an absence is weak: unknown.
			return "unknown"
		}
		return "full"
	case "resumed_id":
		if r.inferred() {
			return "unknown"
		}
		return "resumed/session_id"
	case "resumed_ticket":
		if r.inferred() {
			return "unknown"
		}
		return "resumed/ticket"
	case "resumed_psk13":
		return "resumed/psk"
	case "abbreviated_unknown":
		// Abbreviated, but nothing offered that it could resume (no
		// ClientHello, or no ticket and no echo): DESIGN has no mechanism
		// to name, so unknown.
		return "unknown"
	case "incomplete":
		return "unknown"
	}
	return "?" + r["decision"]
}

// assignedSIDs returns, for each row index, whether the row's ClientHello
// session ID was assigned by a server (TLS ≤ 1.2) earlier in the capture.
func assignedSIDs(rows []corpusRow) []bool {
	first := map[string]int{} // session ID -> ServerHello frame of its first assignment
	for _, r := range rows {
		sid, f := r["sh_sid"], r.int("sh_frame")
		if sid == "" || f == 0 || r.tls13() {
			continue
		}
		if (r["decision"] == "full" && sid != r["ch_sid"]) || r["decision"] == "resumed_id" {
			if g, ok := first[sid]; !ok || f < g {
				first[sid] = f
			}
		}
	}
	out := make([]bool, len(rows))
	for i, r := range rows {
		f, ok := first[r["ch_sid"]]
		out[i] = r["ch_sid"] != "" && ok && f < r.chFrame()
	}
	return out
}

func endpointPair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// normAddrPort rewrites tshark's "ip:port" (IPv6 without brackets) the way
// netip prints it.
func normAddrPort(s string) string {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s
	}
	a, err := netip.ParseAddr(s[:i])
	if err != nil {
		return s
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return s
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}

// compareCorpus compares one capture's output with its ground truth.
func compareCorpus(rows []corpusRow, conns []*corpusConn, stats *corpusStats) (ds []corpusDisagreement, extra []*corpusConn) {
	add := func(d corpusDisagreement) { ds = append(ds, d) }
	byID := map[int]*corpusConn{}
	byPair := map[[2]string][]*corpusConn{}
	for _, c := range conns {
		byID[c.ID] = c
		p := endpointPair(c.Client.String(), c.Server.String())
		byPair[p] = append(byPair[p], c)
	}
	assigned := assignedSIDs(rows)
	streamConn := map[string]*corpusConn{} // ground-truth stream -> our conn
	used := map[int]bool{}
	var idOff []string

	// Match rows to conns first: resumes needs the origin's conn.
	type item struct {
		i int
		r corpusRow
		c *corpusConn
	}
	var items []item
	for i, r := range rows {
		stream, ok := strings.CutPrefix(r["stream"], "tcp:")
		if !ok {
			continue // DTLS, QUIC, TLS over UDP
		}
		switch r["proto"] {
		case "tls", "sslv2-hello", "sslv2":
		default:
			continue
		}
		n, err := strconv.Atoi(stream)
		if err != nil {
			continue
		}
		pair := endpointPair(normAddrPort(r["client"]), normAddrPort(r["server"]))
		c := byID[n+1]
		if c == nil || endpointPair(c.Client.String(), c.Server.String()) != pair {
			// Fall back on the addresses: the unused conn on the same
			// 4-tuple whose id is closest.
			c = nil
			for _, x := range byPair[pair] {
				if used[x.ID] {
					continue
				}
				if c == nil || abs(x.ID-(n+1)) < abs(c.ID-(n+1)) {
					c = x
				}
			}
			if c != nil {
				stats.add("id", false)
				idOff = append(idOff, fmt.Sprintf("%s->%d", r["stream"], c.ID))
			}
		} else {
			stats.add("id", true)
		}
		stats.mu.Lock()
		stats.attempts++
		stats.mu.Unlock()
		if c == nil {
			stats.add("missing", false)
			add(corpusDisagreement{r["stream"], "missing", "no conn", r["decision"],
				fmt.Sprintf("%s -> %s", r["client"], r["server"])})
			continue
		}
		stats.add("missing", true)
		used[c.ID] = true
		streamConn[r["stream"]] = c
		items = append(items, item{i, r, c})
	}
	if len(idOff) > 0 {
		// One disagreement per capture: a stream numbered differently
		// shifts every later one.
		add(corpusDisagreement{"*", "id", fmt.Sprintf("%d ids off", len(idOff)), "id = stream + 1",
			"matched by address instead: " + strings.Join(idOff, " ")})
	}
	for _, c := range conns {
		if !used[c.ID] {
			stats.mu.Lock()
			stats.extra++
			stats.mu.Unlock()
			extra = append(extra, c)
		}
	}

	for _, it := range items {
		r, c, stream := it.r, it.c, it.r["stream"]
		detail := fmt.Sprintf("id %d %s -> %s, history %q, notes %v; gt: %s offered=%s offer_rejected=%s notes=%q",
			c.ID, c.Client, c.Server, c.History, c.Notes, r["decision"], r["offered"], r["offer_rejected"], r["notes"])

		// Endpoints: the client is who sent the ClientHello.
		if r["ch_frame"] != "" {
			ok := c.Client.String() == normAddrPort(r["client"])
			stats.add("endpoints", ok)
			if !ok {
				add(corpusDisagreement{stream, "endpoints", "client " + c.Client.String(), "client " + normAddrPort(r["client"]), detail})
			}
		}

		// TLS 1.3 compatibility-mode session ID echo is never a resumption.
		if r.tls13() && r["compat_sid"] == "1" && r["sh_psk"] != "1" {
			ok := c.Handshake != "resumed"
			stats.add("compat", ok)
			if !ok {
				add(corpusDisagreement{stream, "compat", c.verdict(), "not resumed", detail})
				continue
			}
		}

		want := expectedVerdict(r)
		ok := c.verdict() == want
		stats.add("verdict", ok)
		if !ok {
			add(corpusDisagreement{stream, "verdict", c.verdict(), want, detail})
			continue // the checks below depend on the verdict
		}

		// Rejected: an offer, then a full handshake.
		wantRej := false
		if want == "full" {
			switch r["offer_rejected"] {
			case "ticket", "ticket+sid", "psk":
				wantRej = true
			case "sid", "sid?":
				// Corpus README, "Note on offer_rejected=sid": only an
				// ID a server assigned earlier is an offer.
				wantRej = assigned[it.i]
			}
		}
		ok = c.Rejected == wantRej
		stats.add("rejected", ok)
		if !ok {
			add(corpusDisagreement{stream, "rejected", strconv.FormatBool(c.Rejected), strconv.FormatBool(wantRej), detail})
		}

		// Offered: what the ClientHello offered, as DESIGN counts it.
		if r["ch_frame"] != "" {
			var wantOff []string
			switch {
			case r["neg_version"] == "":
				if r.int("ch_ticket_len") > 0 {
					wantOff = append(wantOff, "ticket")
				}
				if r.int("ch_psk_ids") > 0 {
					wantOff = append(wantOff, "psk")
				}
			case r.tls13():
				if r.int("ch_psk_ids") > 0 {
					wantOff = append(wantOff, "psk")
				}
			default:
				if r.int("ch_ticket_len") > 0 {
					wantOff = append(wantOff, "ticket")
				}
				if assigned[it.i] || want == "resumed/session_id" {
					wantOff = append(wantOff, "session_id")
				}
			}
			got := slices.Clone(c.Offered)
			slices.Sort(got)
			slices.Sort(wantOff)
			ok = slices.Equal(got, wantOff)
			stats.add("offered", ok)
			if !ok {
				add(corpusDisagreement{stream, "offered", strings.Join(got, "+"), strings.Join(wantOff, "+"), detail})
			}
		}

		// Resumes: TLS 1.2 links to an earlier connection of the capture.
		if (want == "resumed/session_id" || want == "resumed/ticket") && !r.tls13() {
			link := r["resumes"]
			wantRes := "null"
			if !strings.HasPrefix(link, "?") && link != "" {
				origin, _, _ := strings.Cut(link, "#")
				oc := streamConn[origin]
				if oc == nil {
					wantRes = "conn of " + origin
				} else {
					wantRes = strconv.Itoa(oc.ID)
				}
			}
			gotRes := "null"
			if c.Resumes != nil {
				gotRes = strconv.Itoa(*c.Resumes)
			}
			ok = gotRes == wantRes
			stats.add("resumes", ok)
			if !ok {
				add(corpusDisagreement{stream, "resumes", gotRes, wantRes, detail + " gt resumes=" + link})
			}
		}
	}
	return ds, extra
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Fatal(err)
	}
	captures := corpusCaptures(t)
	exceptions := map[[3]string]*corpusException{}
	for i := range corpusExceptions {
		e := &corpusExceptions[i]
		k := [3]string{e.capture, e.stream, e.check}
		if exceptions[k] != nil {
			t.Fatalf("exception listed twice: %s %s %s", e.capture, e.stream, e.check)
		}
		if e.why == "" {
			t.Errorf("exception %s %s %s has no why", e.capture, e.stream, e.check)
		}
		if !slices.Contains(captures, e.capture) {
			t.Errorf("exception for %s: not in the corpus", e.capture)
		}
		exceptions[k] = e
	}
	stats := &corpusStats{checks: map[string][2]int{}}
	var mu sync.Mutex
	ran := map[string]bool{}
	hit := map[*corpusException]bool{}

	t.Run("captures", func(t *testing.T) {
		for _, capture := range captures {
			t.Run(strings.ReplaceAll(capture, "/", "__"), func(t *testing.T) {
				t.Parallel()
				mu.Lock()
				ran[capture] = true
				mu.Unlock()
				var ds []corpusDisagreement
				disagree := func(d corpusDisagreement) {
					e := exceptions[[3]string{capture, d.stream, d.check}]
					if e == nil || (e.got != "*" && (e.got != d.got || e.want != d.want)) {
						// A capture-wide cause (stream, got and want "*").
						e = exceptions[[3]string{capture, "*", d.check}]
						if e != nil && e.got != "*" {
							e = nil
						}
					}
					if e != nil {
						mu.Lock()
						hit[e] = true
						mu.Unlock()
						return
					}
					ds = append(ds, d)
				}
				defer func() {
					for _, d := range ds {
						t.Errorf("%s %s: we say %q, ground truth %q (%s)\n\t{%q, %q, %q, %q, %q, \"TODO\"},",
							d.stream, d.check, d.got, d.want, d.detail, capture, d.stream, d.check, d.got, d.want)
					}
				}()

				path := filepath.Join(corpusDir, filepath.FromSlash(capture))
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), []string{"-r", path}, nil, &stdout, &stderr)
				switch code {
				case 0:
				case 1:
					disagree(corpusDisagreement{"", "exit", "1", "0", stderr.String()})
				default:
					t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
				}
				conns, _ := parseCorpusOutput(t, stdout.Bytes())
				gt := strings.ReplaceAll(capture, "/", "__") + ".tsv"
				rows := readCorpusTSV(t, filepath.Join(corpusDir, "groundtruth", gt))
				ds, extra := compareCorpus(rows, conns, stats)
				for _, d := range ds {
					disagree(d)
				}
				for _, c := range extra {
					t.Logf("conn %d (%s -> %s, %s, %s) has no ground-truth row", c.ID, c.Client, c.Server, c.verdict(), c.History)
				}
				stats.mu.Lock()
				stats.captures++
				stats.mu.Unlock()
			})
		}
	})

	for i := range corpusExceptions {
		e := &corpusExceptions[i]
		if ran[e.capture] && !hit[e] {
			t.Errorf("exception no longer occurs (remove it): %s %s %s: got %q want %q", e.capture, e.stream, e.check, e.got, e.want)
		}
	}
	checks := slices.Sorted(maps.Keys(stats.checks))
	t.Logf("%d captures, %d TLS-over-TCP attempts, %d conn events without a ground-truth row", stats.captures, stats.attempts, stats.extra)
	for _, k := range checks {
		v := stats.checks[k]
		t.Logf("%-10s agree %4d, disagree %3d", k, v[0], v[1])
	}
}
