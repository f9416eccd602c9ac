package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tlsresume/tlsresume/sessions"
	"github.com/tlsresume/tlsresume/verdict"
)

// Text report layout: everything fits in 80 columns.
const (
	textWidth       = 80
	largestSessions = 5
	sessionConns    = sessions.Members // connections printed per session tree
	serverRows      = 20
)

// writeText prints the report for people: totals, the per-server table,
// farm findings and the largest sessions as trees. It is built from the
// summary and the few largest sessions: nothing per connection is kept.
func writeText(w io.Writer, s *summary, largest []*sessions.Session) error {
	var b strings.Builder
	fmt.Fprintf(&b, "TLS connections  %d (of %d TCP flows, %d packets)\n", s.TLSConnections, s.TCPFlows, s.Packets)
	fmt.Fprintf(&b, "  full %d, resumed %d (%.1f%%), unknown %d\n", s.Full, s.Resumed, 100*s.ResumptionRate, s.Unknown)
	fmt.Fprintf(&b, "  resumed by session ID %d, ticket %d, PSK %d\n",
		s.ByMethod[verdict.BySessionID], s.ByMethod[verdict.ByTicket], s.ByMethod[verdict.ByPSK])
	fmt.Fprintf(&b, "  rejected offers %d; sessions %d\n", s.Rejected, s.Sessions)
	if s.Interrupted {
		b.WriteString("  (interrupted)\n")
	}

	if len(s.Servers) > 0 {
		b.WriteString("\nServers\n")
		fmt.Fprintf(&b, "  %-26s %6s %6s %6s %6s %5s %8s %8s\n", "server (SNI)", "conns", "full", "resumd", "rate", "rejct", "med age", "max age")
		for i, r := range s.Servers {
			if i == serverRows {
				fmt.Fprintf(&b, "  ... %d more servers\n", len(s.Servers)-serverRows)
				break
			}
			name := r.Server.String()
			fmt.Fprintf(&b, "  %-26s %6d %6d %6d %5.1f%% %5d %8s %8s\n", clip(name, 26), r.Conns, r.Full, r.Resumed,
				100*r.ResumptionRate, r.Rejected, age(r.MedianResumeAge), age(r.MaxResumeAge))
			if r.SNI != "" {
				fmt.Fprintf(&b, "    %s\n", clip(r.SNI, textWidth-4))
			}
			var extra []string
			if m := r.ByMethod; r.Resumed > 0 {
				extra = append(extra, fmt.Sprintf("by session ID %d, ticket %d, PSK %d", m[verdict.BySessionID], m[verdict.ByTicket], m[verdict.ByPSK]))
			}
			if r.TicketKeyHints > 1 {
				extra = append(extra, fmt.Sprintf("%d ticket key hints (keys rotated?)", r.TicketKeyHints))
			}
			if r.ResumedAfterHint > 0 {
				extra = append(extra, fmt.Sprintf("%d resumed after the lifetime hint", r.ResumedAfterHint))
			}
			if r.RejectedWithinHint > 0 {
				extra = append(extra, fmt.Sprintf("%d rejected well inside the lifetime hint", r.RejectedWithinHint))
			}
			for _, e := range extra {
				fmt.Fprintf(&b, "    %s\n", clip(e, textWidth-4))
			}
		}
	}

	if len(s.Farms) > 0 {
		b.WriteString("\nSessions offered to another server\n")
		for _, f := range s.Farms {
			var line string
			switch {
			case f.Accepted == 0:
				line = fmt.Sprintf("%s rejects all %d sessions from %s: not shared", f.Acceptor, f.Rejected, f.Issuer)
			case f.Rejected == 0:
				line = fmt.Sprintf("%s accepts all %d sessions from %s: shared", f.Acceptor, f.Accepted, f.Issuer)
			default:
				line = fmt.Sprintf("%s accepts %d, rejects %d sessions from %s", f.Acceptor, f.Accepted, f.Rejected, f.Issuer)
			}
			fmt.Fprintf(&b, "  %s\n", clip(line, textWidth-2))
		}
	}

	writeTrees(&b, largest)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTrees prints the largest sessions: the origin, then each
// resumption with its time offset and client.
func writeTrees(b *strings.Builder, big []*sessions.Session) {
	if len(big) == 0 || len(big[0].Conns) < 2 {
		return
	}
	b.WriteString("\nLargest sessions\n")
	for _, s := range big {
		if len(s.Conns) < 2 {
			break
		}
		fmt.Fprintf(b, "  %s\n", clip(fmt.Sprintf("%s  %d conns, %d rejected offers", clip(s.ID, 24), len(s.Conns), s.Rejected), textWidth-2))
		fmt.Fprintf(b, "    server %s\n", clip(s.Server.String()+" "+s.SNI, textWidth-11))
		start := s.FirstTS
		if s.Origin == nil {
			b.WriteString("    (origin not visible)\n")
		}
		for _, c := range s.Members {
			what := c.Handshake.String()
			switch {
			case c.Resumption == verdict.BySessionID:
				what += " id"
			case c.Resumption != verdict.NoMethod:
				what += " " + c.Resumption.String()
			case c.Rejected:
				what += " (rejct)"
			}
			prefix := "    ├─ "
			if s.Origin != nil && c.ID == *s.Origin {
				prefix = "    ┌─ "
			}
			fmt.Fprintf(b, "%s#%-7d %9s  %-16s %s\n", prefix, c.ID, offset(c.TS.Sub(start)), what,
				clip(c.Client.String(), textWidth-47))
		}
		if len(s.Conns) > sessionConns {
			fmt.Fprintf(b, "    ... %d more\n", len(s.Conns)-sessionConns)
		}
	}
}

func offset(d time.Duration) string {
	if d == 0 {
		return "+0s"
	}
	return "+" + d.Round(time.Millisecond).String()
}

func age(v *float64) string {
	if v == nil {
		return "-"
	}
	d := time.Duration(*v * float64(time.Second))
	if d < 10*time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
