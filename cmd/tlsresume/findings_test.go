package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The nginx captures (testdata/pcaps/nginx, made by its make.sh) were made
// with known nginx settings; their truth is s_client's own New/Reused
// line per run, the start time of each run, and the times make.sh
// restarted or reloaded nginx. Each test derives the expected finding
// from that truth and never from our output.

const nginxDir = pcapDir + "/nginx"

// nginxRun is one row of X.truth.tsv.
type nginxRun struct {
	n               int
	start           float64 // Unix seconds
	reused          bool
	sessIn, sessOut string
}

type nginxTruth struct {
	runs   []nginxRun
	events [][2]string // time, event (with its detail)
	conf   string
}

func readNginxTruth(t *testing.T, name string) nginxTruth {
	t.Helper()
	var tr nginxTruth
	b, err := os.ReadFile(filepath.Join(nginxDir, name+".truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, "\t")
		n, _ := strconv.Atoi(f[0])
		start, err := strconv.ParseFloat(f[2], 64)
		if err != nil || len(f) != 6 {
			t.Fatalf("%s.truth.tsv line %d: %q", name, i+1, line)
		}
		tr.runs = append(tr.runs, nginxRun{n: n, start: start, reused: f[3] == "Reused", sessIn: f[4], sessOut: f[5]})
	}
	b, err = os.ReadFile(filepath.Join(nginxDir, name+".events.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, "\t", 2)
		tr.events = append(tr.events, [2]string{f[0], f[1]})
	}
	b, err = os.ReadFile(filepath.Join(nginxDir, name+".nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	tr.conf = string(b)
	return tr
}

// offers returns, per offer in the truth, the session's age (the start of
// the offering run minus the start of the run that wrote the session
// file) and whether s_client said Reused.
func (tr nginxTruth) offers() (ages []float64, reused []bool, runs []nginxRun) {
	made := map[string]float64{}
	for _, r := range tr.runs {
		if r.sessIn != "-" {
			ages = append(ages, r.start-made[r.sessIn])
			reused = append(reused, r.reused)
			runs = append(runs, r)
		}
		if r.sessOut != "-" {
			made[r.sessOut] = r.start
		}
	}
	return
}

// oldestAccepted and youngestRefused per the truth.
func (tr nginxTruth) bracket() (acc, ref float64) {
	ages, reused, _ := tr.offers()
	acc, ref = -1, math.Inf(1)
	for i, a := range ages {
		if reused[i] {
			acc = max(acc, a)
		} else {
			ref = min(ref, a)
		}
	}
	return acc, ref
}

func (tr nginxTruth) eventTimes(name string) []float64 {
	var out []float64
	for _, e := range tr.events {
		if strings.HasPrefix(e[1], name+" ") || e[1] == name {
			v, _ := strconv.ParseFloat(e[0], 64)
			out = append(out, v)
		}
	}
	return out
}

type findingOut struct {
	Kind     string          `json:"kind"`
	Message  string          `json:"message"`
	Evidence json.RawMessage `json:"evidence"`
	Settings []string        `json:"settings"`
}

type evidenceOut struct {
	OldestAccepted  float64 `json:"oldest_accepted_age"`
	YoungestRefused float64 `json:"youngest_refused_age"`
	Accepted        int     `json:"accepted"`
	Refused         int     `json:"refused"`
	Time            string  `json:"time"`
	After           string  `json:"after"`
	RefusedAfter    int     `json:"refused_after"`
	AcceptedAfter   int     `json:"accepted_after"`
	Hints           []struct {
		Hint  string `json:"hint"`
		First string `json:"first_seen"`
	} `json:"ticket_key_hints"`
	Changes   []string `json:"changes"`
	Interval  *float64 `json:"interval"`
	Announced int      `json:"announced"`
	Issuing   int      `json:"issuing"`
}

func nginxFindings(t *testing.T, name string) map[string]evidenceOut {
	t.Helper()
	out, stderr, code := runTool(t, "-r", filepath.Join(nginxDir, name+".pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum struct {
		Findings []findingOut `json:"findings"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	got := map[string]evidenceOut{}
	for _, f := range sum.Findings {
		var ev evidenceOut
		if err := json.Unmarshal(f.Evidence, &ev); err != nil {
			t.Fatal(err)
		}
		if len(f.Settings) == 0 || f.Message == "" {
			t.Errorf("%s: finding %s without message or settings", name, f.Kind)
		}
		got[f.Kind] = ev
	}
	return got
}

func unix(t *testing.T, ts string) float64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t.Fatal(err)
	}
	return float64(v.UnixNano()) / 1e9
}

func wantKinds(t *testing.T, got map[string]evidenceOut, want ...string) {
	t.Helper()
	var kinds []string
	for k := range got {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	slices.Sort(want)
	if !slices.Equal(kinds, want) {
		t.Errorf("finding kinds %v, want %v", kinds, want)
	}
}

// ageSlack is how far a ClientHello's capture time may be from the start
// time make.sh took just before s_client ran (process start, connect).
const ageSlack = 0.3

func TestFindingSessionLifetime(t *testing.T) {
	tr := readNginxTruth(t, "lifetime")
	if !strings.Contains(tr.conf, "ssl_session_timeout 4s;") {
		t.Fatal("lifetime.nginx.conf: no ssl_session_timeout 4s")
	}
	const timeout = 4.0
	acc, ref := tr.bracket()
	if !(acc < timeout && timeout < ref) {
		t.Fatalf("truth: oldest accepted %.3f, youngest refused %.3f do not bracket %v", acc, ref, timeout)
	}
	got := nginxFindings(t, "lifetime")
	wantKinds(t, got, "session_lifetime")
	ev := got["session_lifetime"]
	if math.Abs(ev.OldestAccepted-acc) > ageSlack || math.Abs(ev.YoungestRefused-ref) > ageSlack {
		t.Errorf("bracket [%.3f, %.3f], truth [%.3f, %.3f]", ev.OldestAccepted, ev.YoungestRefused, acc, ref)
	}
	if !(ev.OldestAccepted < timeout && timeout < ev.YoungestRefused) {
		t.Errorf("bracket [%.3f, %.3f] does not hold ssl_session_timeout %vs", ev.OldestAccepted, ev.YoungestRefused, timeout)
	}
}

func TestFindingCacheEvictsEarly(t *testing.T) {
	tr := readNginxTruth(t, "cache")
	if !strings.Contains(tr.conf, "ssl_session_cache builtin:4;") {
		t.Fatal("cache.nginx.conf: no ssl_session_cache builtin:4")
	}
	acc, ref := tr.bracket()
	if !(ref < acc) {
		t.Fatalf("truth: youngest refused %.3f is not younger than oldest accepted %.3f", ref, acc)
	}
	_, reused, _ := tr.offers()
	nref := 0
	for _, r := range reused {
		if !r {
			nref++
		}
	}
	got := nginxFindings(t, "cache")
	wantKinds(t, got, "cache_evicts_early")
	ev := got["cache_evicts_early"]
	if math.Abs(ev.OldestAccepted-acc) > ageSlack || math.Abs(ev.YoungestRefused-ref) > ageSlack {
		t.Errorf("ages: refused %.3f accepted %.3f, truth %.3f %.3f", ev.YoungestRefused, ev.OldestAccepted, ref, acc)
	}
	if ev.Refused != nref || ev.Accepted != len(reused)-nref {
		t.Errorf("refused %d accepted %d, truth %d %d", ev.Refused, ev.Accepted, nref, len(reused)-nref)
	}
}

func TestFindingRestart(t *testing.T) {
	tr := readNginxTruth(t, "restart")
	restarts := tr.eventTimes("nginx_restart")
	if len(restarts) != 1 {
		t.Fatalf("truth: %d restarts", len(restarts))
	}
	restart := restarts[0]
	refused, accepted := 0, 0
	made := map[string]float64{}
	for _, r := range tr.runs {
		if r.sessIn != "-" && r.start > restart {
			switch {
			case made[r.sessIn] < restart && !r.reused:
				refused++
			case made[r.sessIn] > restart && r.reused:
				accepted++
			default:
				t.Fatalf("truth: run %d does not fit a restart", r.n)
			}
		}
		if r.sessOut != "-" {
			made[r.sessOut] = r.start
		}
	}
	got := nginxFindings(t, "restart")
	// The restart also gave nginx new ticket keys (none configured): the
	// key name changes at the restart.
	wantKinds(t, got, "restart_or_key_change", "ticket_key_rotation")
	ev := got["restart_or_key_change"]
	at, after := unix(t, ev.Time), unix(t, ev.After)
	if math.Abs(at-restart) > 1 || after > restart {
		t.Errorf("restart at %.3f, finding: after %.3f, at %.3f", restart, after, at)
	}
	if ev.RefusedAfter != refused || ev.AcceptedAfter != accepted {
		t.Errorf("refused %d, accepted %d after; truth %d, %d", ev.RefusedAfter, ev.AcceptedAfter, refused, accepted)
	}
	if ch := got["ticket_key_rotation"].Changes; len(ch) != 1 || math.Abs(unix(t, ch[0])-restart) > 1 {
		t.Errorf("key changes %v, restart at %.3f", ch, restart)
	}
}

func TestFindingTicketKeyRotation(t *testing.T) {
	tr := readNginxTruth(t, "rotation")
	var names []string
	for _, e := range tr.events {
		if f := strings.Fields(e[1]); f[0] == "ticket_key" {
			names = append(names, f[2])
		}
	}
	reloads := tr.eventTimes("nginx_reload")
	if len(names) != 3 || len(reloads) != 2 {
		t.Fatalf("truth: %d keys, %d reloads", len(names), len(reloads))
	}
	got := nginxFindings(t, "rotation")
	wantKinds(t, got, "ticket_key_rotation")
	ev := got["ticket_key_rotation"]
	var hints []string
	for _, h := range ev.Hints {
		hints = append(hints, h.Hint)
	}
	if !slices.Equal(hints, names) {
		t.Errorf("hints %v, key names %v", hints, names)
	}
	if len(ev.Changes) != 2 {
		t.Fatalf("changes %v", ev.Changes)
	}
	for i, c := range ev.Changes {
		if d := unix(t, c) - reloads[i]; d < 0 || d > 1 {
			t.Errorf("change %d at %s, %.3f s after the reload", i+1, c, d)
		}
	}
	if ev.Interval == nil || math.Abs(*ev.Interval-(reloads[1]-reloads[0])) > 0.5 {
		t.Errorf("interval %v, reloads %.3f s apart", ev.Interval, reloads[1]-reloads[0])
	}
}

func TestFindingTicketsOff(t *testing.T) {
	tr := readNginxTruth(t, "tickets-off")
	if !strings.Contains(tr.conf, "ssl_session_tickets off;") {
		t.Fatal("tickets-off.nginx.conf: tickets not off")
	}
	b, err := os.ReadFile(filepath.Join(nginxDir, "tickets-off.sclient.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// s_client announces ticket support (an empty session_ticket
	// extension) unless told -no_ticket.
	announcing := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "## run ") && !strings.Contains(l, "-no_ticket") {
			announcing++
		}
	}
	got := nginxFindings(t, "tickets-off")
	wantKinds(t, got, "tickets_off")
	if a := got["tickets_off"].Announced; a != announcing || a != len(tr.runs) {
		t.Errorf("announced %d, truth %d of %d runs", a, announcing, len(tr.runs))
	}
}

func TestFindingClientsNeverOffer(t *testing.T) {
	tr := readNginxTruth(t, "no-client-cache")
	for _, r := range tr.runs {
		if r.sessIn != "-" || r.reused {
			t.Fatalf("truth: run %d offers a session", r.n)
		}
	}
	got := nginxFindings(t, "no-client-cache")
	wantKinds(t, got, "clients_never_offer")
	if n := got["clients_never_offer"].Issuing; n != len(tr.runs) {
		t.Errorf("issuing %d, truth %d full handshakes", n, len(tr.runs))
	}
}
