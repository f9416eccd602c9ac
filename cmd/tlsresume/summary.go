package main

import (
	"errors"

	"github.com/tlsresume/tlsresume/capture"
	"github.com/tlsresume/tlsresume/flows"
	"github.com/tlsresume/tlsresume/sessions"
	"github.com/tlsresume/tlsresume/verdict"
)

// summary is the last event.
type summary struct {
	Type           string                 `json:"type"`
	FormatVersion  int                    `json:"format_version"`
	Packets        uint64                 `json:"packets"`
	Bytes          uint64                 `json:"bytes"`
	TCPFlows       uint64                 `json:"tcp_flows"`
	UDPFlows       uint64                 `json:"udp_flows"`
	TLSConnections int                    `json:"tls_connections"`
	Full           int                    `json:"full"`
	Resumed        int                    `json:"resumed"`
	Unknown        int                    `json:"unknown"`
	UnknownReasons map[string]int         `json:"unknown_reasons"`
	Rejected       int                    `json:"rejected_offers"`
	ByMethod       map[verdict.Method]int `json:"by_method"`
	ResumptionRate *float64               `json:"resumption_rate"`
	Sessions       int                    `json:"sessions"`
	Servers        []*sessions.ServerRow  `json:"servers"`
	Farms          []sessions.FarmPair    `json:"farms"`
	Findings       []sessions.Finding     `json:"findings"`
	Counters       counters               `json:"counters"`
	KernelDrops    *uint64                `json:"kernel_drops"`
	Interrupted    bool                   `json:"interrupted"`
	Truncated      bool                   `json:"truncated"`
	InputError     *string                `json:"input_error"`
	Sensor         string                 `json:"sensor,omitempty"` // --sensor; absent without it
}

// counters are the pipeline's counters, the capture's and the sessions'
// in one object: each counted once, never repeated at the top level.
type counters struct {
	TCPPackets        uint64 `json:"tcp_packets"`
	UDPPackets        uint64 `json:"udp_packets"`
	OtherPackets      uint64 `json:"other_packets"`
	DecodeErrors      uint64 `json:"decode_errors"`
	UnsupportedLink   uint64 `json:"unsupported_link_type"`
	Truncated         uint64 `json:"snaplen_truncated"`
	FilterRejected    uint64 `json:"filter_rejected"`
	PacketsSkipped    uint64 `json:"packets_after_handshake"`
	NotTLS            uint64 `json:"flows_not_tls"`
	NoHello           uint64 `json:"flows_without_hello"`
	PlaintextPreamble uint64 `json:"plaintext_preamble"`
	StreamGap         uint64 `json:"stream_gap"`
	MalformedRecord   uint64 `json:"record_malformed"`
	Oversized         uint64 `json:"record_or_message_oversized"`
	MalformedHello    uint64 `json:"hello_malformed"`
	MalformedTicket   uint64 `json:"ticket_malformed"`
	FlowsEvicted      uint64 `json:"flows_evicted"`
	SessionsEvicted   uint64 `json:"sessions_evicted"`
	QUICUndecryptable uint64 `json:"quic_initial_undecryptable"`
	QUICMalformed     uint64 `json:"quic_malformed"`
	CryptoRejected    uint64 `json:"crypto_frames_rejected"`
	DTLSMalformed     uint64 `json:"dtls_malformed"`
	UDPGivenUp        uint64 `json:"udp_handshakes_given_up"`
	ConnsWithKeys     uint64 `json:"conns_with_keys"`
	RecordsDecrypted  uint64 `json:"records_decrypted"`
	DecryptFailures   uint64 `json:"decrypt_failures"`
}

func newSummary(tr *flows.Tracker, s *sessions.Sessions, st capture.Stats, readErr error) *summary {
	c := tr.Counters()
	t := s.Totals()
	sum := &summary{
		Type: "summary", FormatVersion: sessions.FormatVersion, Packets: c.Packets, Bytes: c.Bytes, TCPFlows: c.TCPFlows, UDPFlows: c.UDPFlows,
		TLSConnections: t.TLS, Full: t.Full, Resumed: t.Resumed, Unknown: t.Unknown, UnknownReasons: t.UnknownReasons, Rejected: t.Rejected,
		ByMethod: t.ByMethod, Sessions: s.Len(), Servers: s.Servers(), Farms: s.Farms(), Findings: s.Findings(),
		Counters: counters{
			TCPPackets: c.TCPPackets, UDPPackets: c.UDPPackets, OtherPackets: c.OtherPackets, DecodeErrors: c.DecodeErrors,
			UnsupportedLink: c.UnsupportedLink + st.UnsupportedLinkPackets, Truncated: c.Truncated,
			FilterRejected: st.FilterRejected, PacketsSkipped: c.PacketsSkipped, NotTLS: c.NotTLS, NoHello: c.NoHello,
			PlaintextPreamble: c.PlaintextPreamble, StreamGap: c.StreamGap, MalformedRecord: c.MalformedRecord,
			Oversized: c.Oversized, MalformedHello: c.MalformedHello, MalformedTicket: c.MalformedTicket,
			FlowsEvicted: c.FlowsEvicted, SessionsEvicted: uint64(s.Evicted()),
			QUICUndecryptable: c.QUICUndecryptable, QUICMalformed: c.QUICMalformed, CryptoRejected: c.CryptoRejected,
			DTLSMalformed: c.DTLSMalformed, UDPGivenUp: c.UDPGivenUp, ConnsWithKeys: c.ConnsWithKeys, RecordsDecrypted: c.RecordsDecrypted,
			DecryptFailures: c.DecryptFailures,
		},
	}
	if n := t.Full + t.Resumed; n > 0 {
		sum.ResumptionRate = ptr(float64(t.Resumed) / float64(n))
	}
	if readErr != nil {
		sum.Truncated = errors.Is(readErr, capture.ErrTruncated)
		sum.InputError = ptr(trimPrefix(readErr))
	}
	if sum.Servers == nil {
		sum.Servers = []*sessions.ServerRow{}
	}
	return sum
}

func ptr[T any](v T) *T { return &v }
