package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
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

// plural is "1 session" or "2 sessions".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// percent prints a rate, or "-" when there is nothing to divide.
func percent(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100**r)
}

// writeText prints the report for people: totals, the per-server table,
// farm findings and the largest sessions as trees. It is built from the
// summary and the few largest sessions: nothing per connection is kept.
func writeText(w io.Writer, s *summary, largest []*sessions.Session) error {
	var b strings.Builder
	fmt.Fprintf(&b, "TLS connections  %d (of %s, %s)\n", s.TLSConnections, plural(int(s.TCPFlows), "TCP flow", "TCP flows"),
		plural(int(s.Packets), "packet", "packets"))
	fmt.Fprintf(&b, "  full %d, resumed %d (%s), unknown %d\n", s.Full, s.Resumed, percent(s.ResumptionRate), s.Unknown)
	if s.Unknown > 0 {
		var why []string
		for _, r := range slices.Sorted(maps.Keys(s.UnknownReasons)) {
			why = append(why, fmt.Sprintf("%s %d", strings.ReplaceAll(r, "_", " "), s.UnknownReasons[r]))
		}
		fmt.Fprintf(&b, "  unknown because: %s\n", clip(strings.Join(why, ", "), textWidth-19))
	}
	fmt.Fprintf(&b, "  resumed by session ID %d, ticket %d, PSK %d\n",
		s.ByMethod[verdict.BySessionID], s.ByMethod[verdict.ByTicket], s.ByMethod[verdict.ByPSK])
	fmt.Fprintf(&b, "  %s refused; %s\n", plural(s.Rejected, "offer", "offers"), plural(s.Sessions, "session", "sessions"))
	if s.Interrupted {
		b.WriteString("  (interrupted)\n")
	}
	if s.Truncated {
		b.WriteString("  (the input is truncated: what came before the cut is counted)\n")
	}

	if len(s.Servers) > 0 {
		b.WriteString("\nServers\n")
		fmt.Fprintf(&b, "  %-6s %6s %6s %7s %7s %8s %9s %9s\n", "", "conns", "full", "resumed", "rate", "refused", "med age", "max age")
		for i, r := range s.Servers {
			if i == serverRows {
				fmt.Fprintf(&b, "  ... %s more\n", plural(len(s.Servers)-serverRows, "server", "servers"))
				break
			}
			// The server on a line of its own: an IPv6 address with its
			// port is never cut.
			name := "(other servers)"
			if r.Server != nil {
				sni := "(no SNI)"
				if *r.SNI != "" {
					sni = *r.SNI
				}
				name = r.Server.String() + "  " + sni
			}
			fmt.Fprintf(&b, "  %s\n", clip(name, textWidth-2))
			fmt.Fprintf(&b, "  %-6s %6d %6d %7d %7s %8d %9s %9s\n", "", r.Conns, r.Full, r.Resumed,
				percent(r.ResumptionRate), r.Rejected, age(r.MedianResumeAge), age(r.MaxResumeAge))
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
				extra = append(extra, fmt.Sprintf("%s well inside the lifetime hint", plural(r.RejectedWithinHint, "offer refused", "offers refused")))
			}
			for _, e := range extra {
				fmt.Fprintf(&b, "         %s\n", clip(e, textWidth-9))
			}
		}
	}

	if len(s.Farms) > 0 {
		b.WriteString("\nSessions offered to another server\n")
		for _, f := range s.Farms {
			var line string
			switch {
			case f.Accepted == 0 && f.Rejected == 1:
				line = fmt.Sprintf("%s refuses the session from %s: not shared", f.Acceptor, f.Issuer)
			case f.Accepted == 0:
				line = fmt.Sprintf("%s refuses all %d sessions from %s: not shared", f.Acceptor, f.Rejected, f.Issuer)
			case f.Rejected == 0 && f.Accepted == 1:
				line = fmt.Sprintf("%s accepts the session from %s: shared", f.Acceptor, f.Issuer)
			case f.Rejected == 0:
				line = fmt.Sprintf("%s accepts all %d sessions from %s: shared", f.Acceptor, f.Accepted, f.Issuer)
			default:
				line = fmt.Sprintf("%s accepts %d, refuses %d sessions from %s", f.Acceptor, f.Accepted, f.Rejected, f.Issuer)
			}
			fmt.Fprintf(&b, "  %s\n", clip(line, textWidth-2))
		}
	}

	writeFindings(&b, s)
	writeTrees(&b, largest)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTrees prints the largest sessions: the origin, then each
// resumption and refused offer in time order, with its offset from the
// session's first use and its client.
func writeTrees(b *strings.Builder, big []*sessions.Session) {
	if len(big) == 0 || sessionSize(big[0]) < 2 {
		return
	}
	b.WriteString("\nLargest sessions\n")
	for _, s := range big {
		if sessionSize(s) < 2 {
			break
		}
		fmt.Fprintf(b, "  %s  %s, %s, %s\n", clip(s.ID, 24), plural(sessionSize(s), "conn", "conns"),
			plural(s.Resumptions, "resumption", "resumptions"), plural(s.Rejected, "refused", "refused"))
		sni := s.SNI
		if sni == "" {
			sni = "(no SNI)"
		}
		fmt.Fprintf(b, "    server %s\n", clip(s.Server.String()+"  "+sni, textWidth-11))
		if s.Origin == nil {
			b.WriteString("    (origin not visible)\n")
		}
		members := slices.Clone(s.Members)
		slices.SortStableFunc(members, func(x, y sessions.Member) int { return x.TS.Compare(y.TS) })
		more := sessionSize(s) - len(members)
		for i, c := range members {
			what := c.Handshake.String()
			switch {
			case c.Resumption == verdict.BySessionID:
				what += " id"
			case c.Resumption != verdict.NoMethod:
				what += " " + c.Resumption.String()
			case c.Rejected:
				what += " (refused)"
			}
			prefix := "├─"
			switch {
			case i == 0:
				prefix = "┌─"
			case i == len(members)-1 && more == 0:
				prefix = "└─"
			}
			fmt.Fprintf(b, "    %s #%-7d %10s  %-16s %s\n", prefix, c.ID, offset(c.TS.Sub(s.FirstTS.Time)), what, c.Client)
		}
		if more > 0 {
			fmt.Fprintf(b, "    └─ ... %d more\n", more)
		}
	}
}

// offset prints a time offset in at most 10 columns.
func offset(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "+" + strings.TrimSuffix(fmt.Sprintf("%.3f", d.Seconds()), "") + "s"
	case d < 100*time.Hour:
		return fmt.Sprintf("+%dh%02dm%02ds", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	}
	return fmt.Sprintf("+%dd", int(d.Hours()/24))
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
