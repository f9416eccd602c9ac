package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// reportInputs are committed captures with full handshakes, resumptions
// by ticket and PSK, and refused offers after a restart.
var reportInputs = []string{"tls12-ticket.pcap", "tls12-rejected-restart.pcap", "tls13-psk.pcap"}

// makeReport runs the command with --report and returns the report's
// path and the summary printed on stdout.
func makeReport(t *testing.T, extra ...string) (string, map[string]any) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	args := []string{"--report", path}
	for _, f := range reportInputs {
		args = append(args, "-r", filepath.Join("../../testdata/pcaps/openssl", f))
	}
	args = append(args, extra...)
	var out, errb bytes.Buffer
	if code := run(t.Context(), args, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	return path, sum
}

// TestReportSelfContained: the file names no URL (nothing to fetch: no
// script, style, font or image from elsewhere) and has its findings
// section.
func TestReportSelfContained(t *testing.T) {
	path, _ := makeReport(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?i)(https?:|//[a-z]|<script|<link|@import|url\()`).Find(b); m != nil {
		t.Errorf("the report refers to something outside it: %q", m)
	}
	if !bytes.Contains(b, []byte(`id="findings"`)) {
		t.Error("no findings section")
	}
}

// TestReportChromium opens the report in headless Chromium with every
// host name unresolvable: the DOM after load shows the summary's numbers
// and the charts, and a screenshot is saved.
func TestReportChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium): the report is not rendered")
	}
	path, sum := makeReport(t, "--sensor", "edge-1")
	shot := filepath.Join(t.TempDir(), "report.png")
	browse := func(extra ...string) []byte {
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=" + t.TempDir(), "--window-size=1100,2400"}, extra...)
		cmd := exec.Command(chromium, append(args, "file://"+path)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
			}
		case <-time.After(90 * time.Second):
			cmd.Process.Kill()
			t.Fatal("chromium did not finish in 90s")
		}
		return out.Bytes()
	}
	dom := string(browse("--dump-dom"))
	for _, f := range []string{"tls_connections", "full", "resumed", "rejected_offers", "sessions"} {
		want := fmt.Sprintf(`<dd id="%s">%v</dd>`, f, sum[f])
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM has no %s", want)
		}
	}
	rate := fmt.Sprintf(`<dd id="resumption_rate">%.1f%%</dd>`, 100*sum["resumption_rate"].(float64))
	if !strings.Contains(dom, rate) {
		t.Errorf("the DOM has no %s", rate)
	}
	if sum["resumed"].(float64) < 2 || sum["rejected_offers"].(float64) < 1 {
		t.Errorf("the inputs give %v resumed, %v refused: the test proves little", sum["resumed"], sum["rejected_offers"])
	}
	// The charts: a line per series with points, refused-offer bars, an
	// age histogram with the lifetime hint.
	for _, want := range []string{"<polyline", `aria-label="refused offers over time"`, `class="hint"`, "lifetime hint 2h0m0s", "Sensor edge-1", "tkt:"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM has no %s", want)
		}
	}
	browse("--screenshot=" + shot)
	b, err := os.ReadFile(shot)
	if err != nil || len(b) < 10000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %d bytes, %v", shot, len(b), err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(b))
}

// TestReportFindings: a finding from the summary shows its kind, server
// and evidence.
func TestReportFindings(t *testing.T) {
	f := findingOf(map[string]any{"kind": "effective_lifetime", "server": map[string]any{"ip": "192.0.2.1", "port": 443.0},
		"evidence": map[string]any{"oldest_accepted": 590.0, "youngest_refused": 610.0}})
	if f.Kind != "effective_lifetime" || f.Server != `{"ip":"192.0.2.1","port":443}` ||
		len(f.Fields) != 1 || f.Fields[0] != `evidence: {"oldest_accepted":590,"youngest_refused":610}` {
		t.Errorf("%+v", f)
	}
}
