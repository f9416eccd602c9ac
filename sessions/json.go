package sessions

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tlsresume/tlsresume/verdict"
)

// AppendJSON appends c as encoding/json writes it (with HTML escaping
// off), without reflection: the conn event is the one written per
// connection, and reflection was a tenth of the CPU on a large capture.
// TestConnAppendJSON holds it to encoding/json's bytes for every field,
// so a field added to Conn must be added here too.
func (c *Conn) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, c.Type)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, int64(c.ID), 10)
	b = append(b, `,"ts":`...)
	b = c.TS.appendJSON(b)
	b = append(b, `,"transport":`...)
	b = appendString(b, c.Transport.String())
	b = append(b, `,"client":`...)
	b = appendEndpoint(b, c.Client)
	b = append(b, `,"server":`...)
	b = appendEndpoint(b, c.Server)
	b = append(b, `,"sni":`...)
	b = appendString(b, c.SNI)
	b = append(b, `,"alpn":`...)
	b = appendList(b, c.ALPN, appendString)
	b = append(b, `,"version":`...)
	b = appendString(b, c.Version)
	b = append(b, `,"cipher":`...)
	b = appendString(b, c.Cipher)
	b = append(b, `,"handshake":`...)
	b = appendString(b, c.Handshake.String())
	b = append(b, `,"resumption":`...)
	b = appendMethod(b, c.Resumption)
	b = append(b, `,"offered":`...)
	b = appendList(b, c.Offered, appendMethod)
	b = append(b, `,"rejected":`...)
	b = strconv.AppendBool(b, c.Rejected)
	b = append(b, `,"session":`...)
	b = appendStringPtr(b, c.Session)
	b = append(b, `,"resumes":`...)
	b = appendIntPtr(b, c.Resumes)
	b = append(b, `,"issued":`...)
	b = appendList(b, c.Issued, appendIssued)
	b = append(b, `,"history":`...)
	b = appendString(b, c.History)
	b = append(b, `,"notes":`...)
	b = appendList(b, c.Notes, func(b []byte, n verdict.Note) []byte { return appendString(b, string(n)) })
	b = append(b, `,"ja3":`...)
	b = appendStringPtr(b, c.JA3)
	b = append(b, `,"ja4":`...)
	b = appendStringPtr(b, c.JA4)
	b = append(b, `,"early_data":`...)
	b = strconv.AppendBool(b, c.EarlyData)
	b = append(b, `,"quic_version":`...)
	b = appendStringPtr(b, c.QUICVersion)
	b = append(b, `,"retry":`...)
	b = strconv.AppendBool(b, c.Retry)
	b = append(b, `,"zero_rtt_packets":`...)
	b = strconv.AppendInt(b, int64(c.ZeroRTTPackets), 10)
	b = append(b, `,"issued_by":`...)
	b = appendIntPtr(b, c.IssuedBy)
	b = append(b, `,"ticket_age":`...)
	if c.TicketAge == nil {
		b = append(b, "null"...)
	} else {
		b = appendFloat(b, *c.TicketAge)
	}
	b = append(b, `,"keys":`...)
	b = strconv.AppendBool(b, c.Keys)
	b = append(b, `,"early_data_accepted":`...)
	if c.EarlyDataAccepted == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendBool(b, *c.EarlyDataAccepted)
	}
	b = append(b, `,"client_hello_frame":`...)
	b = appendUintPtr(b, c.ClientHelloFrame)
	b = append(b, `,"server_hello_frame":`...)
	b = appendUintPtr(b, c.ServerHelloFrame)
	if c.Sensor != "" {
		b = append(b, `,"sensor":`...)
		b = appendString(b, c.Sensor)
	}
	return append(b, '}')
}

// appendJSON is MarshalJSON without the allocation.
func (t Timestamp) appendJSON(b []byte) []byte {
	layout := `"2006-01-02T15:04:05.000000Z07:00"`
	if t.Nano {
		layout = `"2006-01-02T15:04:05.000000000Z07:00"`
	}
	return t.UTC().AppendFormat(b, layout)
}

func appendEndpoint(b []byte, e verdict.Endpoint) []byte {
	b = append(b, `{"ip":`...)
	switch {
	case !e.IP.IsValid():
		b = append(b, `""`...) // netip.Addr's MarshalText of the zero Addr
	case e.IP.Zone() != "":
		b = appendString(b, e.IP.String())
	default:
		b = append(b, '"')
		b = e.IP.AppendTo(b)
		b = append(b, '"')
	}
	b = append(b, `,"port":`...)
	b = strconv.AppendUint(b, uint64(e.Port), 10)
	return append(b, '}')
}

func appendIssued(b []byte, is verdict.Issued) []byte {
	b = append(b, `{"kind":`...)
	b = appendString(b, is.Kind.String())
	b = append(b, `,"digest":`...)
	b = appendString(b, is.Digest)
	b = append(b, `,"length":`...)
	b = strconv.AppendInt(b, int64(is.Length), 10)
	b = append(b, `,"lifetime_hint":`...)
	b = strconv.AppendInt(b, is.LifetimeHint, 10)
	if is.KeyHint != "" {
		b = append(b, `,"ticket_key_hint":`...)
		b = appendString(b, is.KeyHint)
	}
	if is.MaxEarlyData != 0 {
		b = append(b, `,"max_early_data":`...)
		b = strconv.AppendUint(b, uint64(is.MaxEarlyData), 10)
	}
	return append(b, '}')
}

func appendMethod(b []byte, m verdict.Method) []byte {
	if m == verdict.NoMethod {
		return append(b, "null"...)
	}
	return appendString(b, m.String())
}

// appendList writes s as a JSON array, or null when it is nil (as
// encoding/json does), each element with each.
func appendList[T any](b []byte, s []T, each func([]byte, T) []byte) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = each(b, v)
	}
	return append(b, ']')
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func appendIntPtr(b []byte, n *int) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*n), 10)
}

func appendUintPtr(b []byte, n *uint64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendUint(b, *n, 10)
}

// appendFloat writes f as encoding/json does: shortest form, in 'e'
// notation below 1e-6 and from 1e21, with a one-digit negative exponent
// unpadded. NaN and infinities, which encoding/json refuses, are written
// as null (they do not occur: ages are differences of capture times).
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString quotes s. Printable ASCII without '"' or '\' is copied;
// anything else (control bytes, non-ASCII, invalid UTF-8, which SNI and
// ALPN may carry) goes through encoding/json, so the escapes are its own.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return appendStringSlow(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStringSlow(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return append(b, `""`...) // a string always encodes
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
