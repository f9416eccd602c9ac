package main

import (
	"github.com/tlsresume/tlsresume/flows"
	"github.com/tlsresume/tlsresume/sessions"
	"github.com/tlsresume/tlsresume/verdict"
)

// summary is the last event.
type summary struct {
	Type            string                 `json:"type"`
	Packets         uint64                 `json:"packets"`
	Bytes           uint64                 `json:"bytes"`
	TCPFlows        uint64                 `json:"tcp_flows"`
	TLSConnections  int                    `json:"tls_connections"`
	Full            int                    `json:"full"`
	Resumed         int                    `json:"resumed"`
	Unknown         int                    `json:"unknown"`
	Rejected        int                    `json:"rejected"`
	ByMethod        map[verdict.Method]int `json:"by_method"`
	ResumptionRate  float64                `json:"resumption_rate"`
	Sessions        int                    `json:"sessions"`
	Servers         []*sessions.ServerRow  `json:"servers"`
	Farms           []sessions.FarmPair    `json:"farms"`
	Counters        flows.Counters         `json:"counters"`
	SessionsEvicted int                    `json:"sessions_evicted"`
	KernelDrops     *uint64                `json:"kernel_drops"`
	Interrupted     bool                   `json:"interrupted"`
}

func newSummary(tr *flows.Tracker, s *sessions.Sessions) *summary {
	c := tr.Counters()
	t := s.Totals()
	sum := &summary{
		Type: "summary", Packets: c.Packets, Bytes: c.Bytes, TCPFlows: c.TCPFlows,
		TLSConnections: t.TLS, Full: t.Full, Resumed: t.Resumed, Unknown: t.Unknown, Rejected: t.Rejected,
		ByMethod: t.ByMethod, Sessions: s.Len(), Counters: c,
		Servers: s.Servers(), Farms: s.Farms(), SessionsEvicted: s.Evicted(),
	}
	if n := t.Full + t.Resumed; n > 0 {
		sum.ResumptionRate = float64(t.Resumed) / float64(n)
	}
	return sum
}
