package main

import (
	"github.com/tlsresume/tlsresume/flows"
)

// summary is the last event.
type summary struct {
	Type            string           `json:"type"`
	Packets         uint64           `json:"packets"`
	Bytes           uint64           `json:"bytes"`
	TCPFlows        uint64           `json:"tcp_flows"`
	TLSConnections  int              `json:"tls_connections"`
	Full            int              `json:"full"`
	Resumed         int              `json:"resumed"`
	Unknown         int              `json:"unknown"`
	Rejected        int              `json:"rejected"`
	ByMethod        map[string]int   `json:"by_method"`
	ResumptionRate  float64          `json:"resumption_rate"`
	Sessions        int              `json:"sessions"`
	Servers         []*serverRow     `json:"servers"`
	Farms           []flows.FarmPair `json:"farms"`
	Counters        flows.Counters   `json:"counters"`
	SessionsEvicted int              `json:"sessions_evicted"`
	KernelDrops     *uint64          `json:"kernel_drops"`
	Interrupted     bool             `json:"interrupted"`
}

func newSummary(tr *flows.Tracker, s *flows.Sessions, o *output) *summary {
	c := tr.Counters()
	sum := &summary{
		Type: "summary", Packets: c.Packets, Bytes: c.Bytes, TCPFlows: c.TCPFlows,
		TLSConnections: o.tls, Full: o.full, Resumed: o.resumed, Unknown: o.unknown, Rejected: o.rejected,
		ByMethod: o.byMethod, Sessions: s.Len(), Counters: c,
		Servers: o.servers.table(), Farms: s.Farms(), SessionsEvicted: s.Evicted(),
	}
	if n := o.full + o.resumed; n > 0 {
		sum.ResumptionRate = float64(o.resumed) / float64(n)
	}
	return sum
}
