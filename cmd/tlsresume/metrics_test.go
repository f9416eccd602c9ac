package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tlsresume/tlsresume/sessions"
	"github.com/tlsresume/tlsresume/verdict"
)

// scrape fetches and parses the metrics at url.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mf
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestMetricsLive captures on lo with --metrics while crypto/tls clients
// make full and resumed handshakes. Scraped once every verdict is out and
// before the stop, the counters equal the conn events so far, series by
// series, and the summary printed after SIGINT (no traffic in between).
func TestMetricsLive(t *testing.T) {
	needLive(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-i", "lo", "--metrics", "127.0.0.1:0", "--sensor", "lo-test", "tcp", "port", port}, strings.NewReader(""), &out, &errb)
	}()
	var url string
	for deadline := time.Now().Add(5 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`metrics at (http://\S+)`).FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("no metrics address on stderr:\n%s", errb.String())
	}
	time.Sleep(300 * time.Millisecond) // the socket is open
	truth := tlsTraffic(t, ln, 3)
	for deadline := time.Now().Add(10 * time.Second); strings.Count(out.String(), `"type":"conn"`) < len(truth) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1200 * time.Millisecond) // a tick: the front counters are published
	events := out.String()
	mf := scrape(t, url)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	checkLive(t, out.String(), truth)

	// The conn events before the scrape, counted by the metric's labels.
	want := map[string]int{}
	wantRejected := 0
	for _, line := range strings.Split(strings.TrimSpace(events), "\n") {
		var c struct {
			Type   string `json:"type"`
			Server struct {
				IP   string
				Port int
			}
			SNI        string  `json:"sni"`
			Transport  string  `json:"transport"`
			Version    string  `json:"version"`
			Handshake  string  `json:"handshake"`
			Resumption *string `json:"resumption"`
			Rejected   bool    `json:"rejected"`
			Sensor     string  `json:"sensor"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil || c.Type != "conn" {
			continue
		}
		if c.Sensor != "lo-test" {
			t.Errorf("conn event with sensor %q", c.Sensor)
		}
		method := "none"
		if c.Resumption != nil {
			method = *c.Resumption
		}
		want[fmt.Sprintf("%s:%d|%s|%s|%s|%s|%s", c.Server.IP, c.Server.Port, c.SNI, c.Transport, c.Version, c.Handshake, method)]++
		if c.Rejected {
			wantRejected++
		}
	}
	got := map[string]int{}
	total := map[string]int{}
	for _, m := range mf["tlsresume_connections_total"].GetMetric() {
		l := labels(m)
		if l["sensor"] != "lo-test" {
			t.Errorf("series %v: no sensor label", l)
		}
		n := int(m.GetCounter().GetValue())
		got[strings.Join([]string{l["server"], l["sni"], l["transport"], l["version"], l["outcome"], l["method"]}, "|")] += n
		total[l["outcome"]] += n
		if l["method"] != "none" {
			total[l["method"]] += n
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tlsresume_connections_total:\n got %v\nwant %v", got, want)
	}
	rejected := 0
	for _, m := range mf["tlsresume_rejected_offers_total"].GetMetric() {
		rejected += int(m.GetCounter().GetValue())
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sum struct {
		TLS         int            `json:"tls_connections"`
		Full        int            `json:"full"`
		Resumed     int            `json:"resumed"`
		Unknown     int            `json:"unknown"`
		Rejected    int            `json:"rejected_offers"`
		ByMethod    map[string]int `json:"by_method"`
		KernelDrops uint64         `json:"kernel_drops"`
		Sensor      string         `json:"sensor"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"full", total["full"], sum.Full}, {"resumed", total["resumed"], sum.Resumed}, {"unknown", total["unknown"], sum.Unknown},
		{"rejected_offers", rejected, sum.Rejected}, {"rejected in conn events", wantRejected, sum.Rejected},
		{"session_id", total["session_id"], sum.ByMethod["session_id"]}, {"ticket", total["ticket"], sum.ByMethod["ticket"]},
		{"psk", total["psk"], sum.ByMethod["psk"]},
		{"tls_connections", total["full"] + total["resumed"] + total["unknown"], sum.TLS},
		{"kernel_drops", int(mf["tlsresume_kernel_drops_total"].GetMetric()[0].GetCounter().GetValue()), int(sum.KernelDrops)},
	} {
		if c.got != c.want {
			t.Errorf("%s: metrics %d, summary %d", c.name, c.got, c.want)
		}
	}
	if sum.Resumed < 2 || sum.Sensor != "lo-test" {
		t.Errorf("summary: %d resumed, sensor %q", sum.Resumed, sum.Sensor)
	}
	if h := mf["tlsresume_resumption_age_seconds"]; h == nil || h.GetMetric()[0].GetHistogram().GetSampleCount() == 0 {
		t.Error("no resumption age observed")
	}
	if p := mf["tlsresume_packets_total"]; p == nil || p.GetMetric()[0].GetCounter().GetValue() == 0 {
		t.Error("tlsresume_packets_total is 0 after the traffic")
	}
}

// TestMetricsServerBound: past metricsServers (server, SNI) pairs, the
// label is "other".
func TestMetricsServerBound(t *testing.T) {
	m := newMetrics(nil)
	seen := map[string]bool{}
	for i := range metricsServers + 10 {
		_, sni := m.serverLabels(connTo(fmt.Sprintf("s%d.example", i)))
		seen[sni] = true
	}
	if len(seen) != metricsServers+1 || !seen[otherLabel] {
		t.Errorf("%d label values, want %d and %q", len(seen), metricsServers+1, otherLabel)
	}
	if _, sni := m.serverLabels(connTo("s0.example")); sni != "s0.example" {
		t.Errorf("a server seen first lost its label: %q", sni)
	}
}

func connTo(sni string) *sessions.Conn {
	return &sessions.Conn{SNI: sni, Server: verdict.Endpoint{IP: netip.MustParseAddr("192.0.2.1"), Port: 443}}
}
