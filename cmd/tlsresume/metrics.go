package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tlsresume/tlsresume/capture"
	"github.com/tlsresume/tlsresume/flows"
	"github.com/tlsresume/tlsresume/sessions"
	"github.com/tlsresume/tlsresume/verdict"
)

// metricsServers bounds the server label: the first metricsServers
// (server, SNI) pairs seen get their own label values, the rest share
// server="other", sni="other". Live, the first seen are the busiest in
// practice; the bound is what keeps a scanner from making a series per
// address. metricsVersions bounds the version label the same way.
const (
	metricsServers  = 50
	metricsVersions = 8
	otherLabel      = "other"
)

// metrics is the --metrics endpoint. conn and session run on the
// goroutine that emits events (the merger's, then the caller's), front
// on the capture loop's; the prometheus types are safe for concurrent
// use, and the scrape runs on the HTTP server's goroutines.
type metrics struct {
	ss *sessions.Sessions // read only from conn and session: the emitting goroutine

	conns     *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	malformed *prometheus.CounterVec
	ages      *prometheus.HistogramVec
	held      prometheus.Gauge
	ended     prometheus.Counter

	servers  map[[2]string]bool // the (server, SNI) pairs with their own label
	versions map[string]bool

	counters atomic.Pointer[flows.Counters] // the tracker's front counters, as of the last tick

	srv  *http.Server
	addr string
}

// serveMetrics registers the metrics and serves them on addr at
// /metrics until close.
func serveMetrics(addr, sensor string, ss *sessions.Sessions, stats func() capture.Stats, live bool, stderr io.Writer) (*metrics, error) {
	m := newMetrics(ss)
	reg := prometheus.NewRegistry()
	var r prometheus.Registerer = reg
	if sensor != "" {
		r = prometheus.WrapRegistererWith(prometheus.Labels{"sensor": sensor}, reg)
	}
	m.register(r, stats, live)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	m.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go m.srv.Serve(ln)
	fmt.Fprintf(stderr, "tlsresume: metrics at http://%s/metrics\n", m.addr)
	return m, nil
}

func newMetrics(ss *sessions.Sessions) *metrics {
	server := []string{"server", "sni"}
	return &metrics{
		ss: ss,
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tlsresume_connections_total",
			Help: "TLS connections judged, by server, SNI, transport, version, outcome (full, resumed, unknown) and method (session_id, ticket, psk, none)."},
			[]string{"server", "sni", "transport", "version", "outcome", "method"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tlsresume_rejected_offers_total",
			Help: "Resumption offers the server refused (a full handshake followed)."}, server),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tlsresume_malformed_total",
			Help: "TLS connections with a malformed record or message, by the note on the conn event."}, []string{"note"}),
		ages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tlsresume_resumption_age_seconds",
			Help:    "Seconds between a session's full handshake and its resumption (origin in the capture).",
			Buckets: []float64{1, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400}}, server),
		held:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "tlsresume_sessions_held", Help: "TLS sessions held in memory (not yet ended)."}),
		ended:    prometheus.NewCounter(prometheus.CounterOpts{Name: "tlsresume_sessions_ended_total", Help: "TLS sessions ended (idle, evicted or at the end)."}),
		servers:  map[[2]string]bool{},
		versions: map[string]bool{},
	}
}

func (m *metrics) register(r prometheus.Registerer, stats func() capture.Stats, live bool) {
	r.MustRegister(m.conns, m.rejected, m.malformed, m.ages, m.held, m.ended)
	front := func(name, help string, get func(c *flows.Counters) uint64) {
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
			if c := m.counters.Load(); c != nil {
				return float64(get(c))
			}
			return 0
		}))
	}
	front("tlsresume_packets_total", "Packets read (after the filter).", func(c *flows.Counters) uint64 { return c.Packets })
	front("tlsresume_bytes_total", "Bytes of the packets read.", func(c *flows.Counters) uint64 { return c.Bytes })
	front("tlsresume_tcp_flows_total", "TCP connections tracked since the start.", func(c *flows.Counters) uint64 { return c.TCPFlows })
	front("tlsresume_flows_evicted_total", "TCP connections evicted by --max-flows.", func(c *flows.Counters) uint64 { return c.FlowsEvicted })
	front("tlsresume_decode_errors_total", "Packets whose headers did not decode.", func(c *flows.Counters) uint64 { return c.DecodeErrors })
	front("tlsresume_snaplen_truncated_total", "Packets cut by the snap length.", func(c *flows.Counters) uint64 { return c.Truncated })
	front("tlsresume_unsupported_link_type_total", "Packets of a link type not read.", func(c *flows.Counters) uint64 { return c.UnsupportedLink })
	if live {
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tlsresume_kernel_drops_total",
			Help: "Packets the kernel dropped before tlsresume read them."}, func() float64 { return float64(stats().KernelDrops) }))
	}
}

// serverLabels returns the server and sni label values of c: its own, or
// "other" past metricsServers pairs.
func (m *metrics) serverLabels(c *sessions.Conn) (string, string) {
	k := [2]string{c.Server.String(), c.SNI}
	if m.servers[k] {
		return k[0], k[1]
	}
	if len(m.servers) < metricsServers {
		m.servers[k] = true
		return k[0], k[1]
	}
	return otherLabel, otherLabel
}

func (m *metrics) version(c *sessions.Conn) string {
	v := c.Version
	if v == "" {
		return "none"
	}
	if m.versions[v] {
		return v
	}
	if len(m.versions) < metricsVersions {
		m.versions[v] = true
		return v
	}
	return otherLabel
}

// methodLabel is the method label of a conn: "none" when not resumed.
func methodLabel(c *sessions.Conn) string {
	if c.Resumption == verdict.NoMethod {
		return "none"
	}
	return c.Resumption.String()
}

func (m *metrics) conn(c *sessions.Conn) {
	server, sni := m.serverLabels(c)
	m.conns.WithLabelValues(server, sni, c.Transport.String(), m.version(c), c.Handshake.String(), methodLabel(c)).Inc()
	if c.Rejected {
		m.rejected.WithLabelValues(server, sni).Inc()
	}
	if age, ok := c.ResumeAge(); ok {
		m.ages.WithLabelValues(server, sni).Observe(age)
	}
	for _, n := range c.Notes {
		// The malformed_* notes are a closed vocabulary: the label stays
		// bounded.
		if strings.HasPrefix(string(n), "malformed_") {
			m.malformed.WithLabelValues(string(n)).Inc()
			break
		}
	}
	m.held.Set(float64(m.ss.Held()))
}

func (m *metrics) session(*sessions.Session) {
	m.ended.Inc()
	m.held.Set(float64(m.ss.Held()))
}

// front takes a copy of the tracker's counters (on the capture loop's
// goroutine, which owns them).
func (m *metrics) front(c flows.Counters) { m.counters.Store(&c) }

// close stops serving.
func (m *metrics) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		m.srv.Close()
	}
}
