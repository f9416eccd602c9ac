package sessions

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tlsresume/tlsresume/verdict"
)

// FindingKind is what a finding says about a server's resumption; its
// name is the summary's stable `kind`.
type FindingKind uint8

// The kinds of findings, in the order a server's findings are listed.
const (
	FindingSessionLifetime   FindingKind = iota + 1 // session_lifetime
	FindingCacheEvictsEarly                         // cache_evicts_early
	FindingRestart                                  // restart_or_key_change
	FindingKeyRotation                              // ticket_key_rotation
	FindingTicketsOff                               // tickets_off
	FindingClientsNeverOffer                        // clients_never_offer
	FindingTicketReuse                              // tls13_ticket_reuse
	FindingEarlyData                                // early_data
)

var findingNames = [...]string{
	FindingSessionLifetime:   "session_lifetime",
	FindingCacheEvictsEarly:  "cache_evicts_early",
	FindingRestart:           "restart_or_key_change",
	FindingKeyRotation:       "ticket_key_rotation",
	FindingTicketsOff:        "tickets_off",
	FindingClientsNeverOffer: "clients_never_offer",
	FindingTicketReuse:       "tls13_ticket_reuse",
	FindingEarlyData:         "early_data",
}

// Settings named by the TLS 1.3 findings.
var (
	settingsTicketReuse = []string{"nginx: ssl_early_data off (0-RTT replays), ssl_session_tickets",
		"OpenSSL servers: SSL_OP_NO_ANTI_REPLAY unset, one ticket per resumption (SSL_CTX_set_num_tickets)",
		"clients: reuse of single-use tickets (RFC 8446, Section 8 and Appendix C.4)"}
	settingsEarlyData = []string{"nginx: ssl_early_data", "HAProxy: allow-0rtt", "Apache: none (no 0-RTT)",
		"quic-go / Caddy: Allow0RTT"}
)

func (k FindingKind) String() string {
	if int(k) < len(findingNames) && findingNames[k] != "" {
		return findingNames[k]
	}
	return fmt.Sprintf("FindingKind(%d)", uint8(k))
}

// MarshalText writes the kind's name.
func (k FindingKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Finding is one thing a server's resumption figures show, with the
// evidence and the server settings it points to: an element of the
// summary's `findings`.
type Finding struct {
	Kind   FindingKind      `json:"kind"`
	Server verdict.Endpoint `json:"server"`
	SNI    string           `json:"sni"`
	// Message is one sentence for people; not a contract.
	Message string `json:"message"`
	// Evidence holds the figures, by kind (README, "Findings").
	Evidence map[string]any `json:"evidence"`
	// Settings are the server settings to look at, named per server
	// software.
	Settings []string `json:"settings"`
}

// KeyHint is a ticket key hint in a ticket_key_rotation finding.
type KeyHint struct {
	Hint    string    `json:"hint"`
	First   Timestamp `json:"first_seen"`
	Last    Timestamp `json:"last_seen"`
	Tickets int       `json:"tickets"`
}

// Thresholds of the findings.
const (
	// minRestartRefusals: a cut needs at least this many refusals of
	// sessions issued before it.
	minRestartRefusals = 2
	// minAnnounced: tickets_off needs this many TLS 1.2 connections that
	// announced ticket support.
	minAnnounced = 3
	// minIssuing: clients_never_offer needs this many connections that
	// were handed a session ID or ticket.
	minIssuing = 3
)

var (
	settingsLifetime = []string{"nginx ssl_session_timeout", "Apache SSLSessionCacheTimeout", "HAProxy tune.ssl.lifetime"}
	settingsCache    = []string{"nginx ssl_session_cache (size)", "Apache SSLSessionCache (shmcb size)", "HAProxy tune.ssl.cachesize"}
	settingsRestart  = []string{"nginx ssl_session_ticket_key", "Apache SSLSessionTicketKeyFile", "HAProxy tls-ticket-keys",
		"a server restart or reload (an in-memory cache and generated ticket keys do not survive it)"}
	settingsRotation = []string{"nginx ssl_session_ticket_key", "Apache SSLSessionTicketKeyFile", "HAProxy tls-ticket-keys"}
	settingsTickets  = []string{"nginx ssl_session_tickets", "Apache SSLSessionTickets", "HAProxy no-tls-tickets"}
	settingsClient   = []string{"the client's session cache (none, or not kept between connections)"}
)

// Findings returns each server's findings, servers in the order of
// Servers (busiest first), the row of the rest skipped. It reads the
// fixed-size aggregates of the per-server table only.
func (s *Sessions) Findings() []Finding {
	out := []Finding{}
	for _, r := range s.servers.table() {
		if r.Other {
			continue
		}
		out = append(out, r.findings(s.cfg.Nanoseconds)...)
	}
	return out
}

func (r *ServerRow) findings(nano bool) []Finding {
	var out []Finding
	add := func(k FindingKind, settings []string, ev map[string]any, format string, args ...any) {
		out = append(out, Finding{Kind: k, Server: *r.Server, SNI: *r.SNI, Message: fmt.Sprintf(format, args...),
			Evidence: ev, Settings: settings})
	}
	ts := func(t time.Time) Timestamp { return Timestamp{Time: t, Nano: nano} }
	f := &r.f
	acc := f.accepted

	// Refusals: all of them first, the cut's included. Refused sessions
	// all older than every accepted one fit a session timeout, and no
	// restart is claimed for them.
	all := f.refused
	all.merge(f.cut.refused)
	rest := all
	if all.n > 0 && (acc.n == 0 || acc.old >= all.young) {
		k := f.cut
		if k.set && k.refused.n >= minRestartRefusals && k.newAccepted > 0 && k.acceptedBefore > 0 {
			rest = f.refused
			add(FindingRestart, settingsRestart, map[string]any{
				"time": ts(k.before), "after": ts(k.after),
				"accepted_before": k.acceptedBefore, "refused_after": k.refused.n, "accepted_after": k.newAccepted,
				"first_refused_conn": k.firstRefusal,
			}, "from about %s every session issued before it was refused (%s) and %s issued after resumed: a restart or a ticket key change",
				k.before.UTC().Format("2006-01-02 15:04:05"), plural(k.refused.n, "offer", "offers"),
				plural(k.newAccepted, "session", "sessions"))
		}
	}
	if rest.n > 0 && acc.n > 0 {
		ev := map[string]any{
			"oldest_accepted_age": round3(acc.old), "oldest_accepted_conn": acc.oldConn, "accepted": acc.n,
			"youngest_refused_age": round3(rest.young), "youngest_refused_conn": rest.youngConn, "refused": rest.n,
		}
		if acc.old < rest.young {
			add(FindingSessionLifetime, settingsLifetime, ev,
				"sessions up to %s old resume, from %s they are refused: the session timeout is between the two",
				ageText(acc.old), ageText(rest.young))
		} else {
			add(FindingCacheEvictsEarly, settingsCache, ev,
				"sessions %s old are refused while others %s old resume: the session cache forgets early (too small?)",
				ageText(rest.young), ageText(acc.old))
		}
	}

	if ev, msg, ok := r.rotation(ts); ok {
		add(FindingKeyRotation, settingsRotation, ev, "%s", msg)
	}
	if f.announced >= minAnnounced && f.tickets == 0 {
		add(FindingTicketsOff, settingsTickets, map[string]any{"announced": f.announced, "tickets": 0},
			"%s announced ticket support and the server issued no ticket: tickets are off",
			plural(f.announced, "TLS 1.2 client hello", "TLS 1.2 client hellos"))
	}
	if f.issuing >= minIssuing && f.offering == 0 {
		add(FindingClientsNeverOffer, settingsClient, map[string]any{"issuing": f.issuing, "offered": 0},
			"the server handed out sessions on %s and no client offered one back: the clients keep no session cache",
			plural(f.issuing, "connection", "connections"))
	}
	if r.PSKReused > 0 {
		add(FindingTicketReuse, settingsTicketReuse, map[string]any{"reused": r.PSKReused},
			"%s offered a TLS 1.3 ticket already offered before: tickets are meant for one use (a privacy and 0-RTT replay risk)",
			plural(r.PSKReused, "connection", "connections"))
	}
	if r.EarlyDataOffered > 0 {
		add(FindingEarlyData, settingsEarlyData, map[string]any{"offered": r.EarlyDataOffered, "accepted": r.EarlyDataAccepted},
			"%s offered 0-RTT data, %d accepted (accepted ones are seen with the key log only)",
			plural(r.EarlyDataOffered, "connection", "connections"), r.EarlyDataAccepted)
	}
	return out
}

// rotation is the ticket_key_rotation finding: at least two key hints
// each seen on more than one ticket, most hints shared by tickets (a
// stack whose tickets start with random bytes, like Go's, gives one hint
// per ticket and never counts), and the hint table not full.
func (r *ServerRow) rotation(ts func(time.Time) Timestamp) (map[string]any, string, bool) {
	h := r.hints
	if len(h) < 2 || len(h) >= maxKeyHints {
		return nil, "", false
	}
	shared := 0
	for _, x := range h {
		if x.tickets > 1 {
			shared++
		}
	}
	if shared < 2 || 2*(len(h)-shared) > len(h) {
		return nil, "", false
	}
	hints := make([]KeyHint, len(h))
	var changes []Timestamp
	var gaps []float64
	for i, x := range h {
		hints[i] = KeyHint{Hint: x.hint, First: ts(x.first), Last: ts(x.last), Tickets: x.tickets}
		if i > 0 {
			changes = append(changes, ts(x.first))
		}
		if i > 1 {
			gaps = append(gaps, x.first.Sub(h[i-1].first).Seconds())
		}
	}
	ev := map[string]any{"ticket_key_hints": hints, "changes": changes}
	msg := fmt.Sprintf("the ticket key changed %s (the key name at the start of OpenSSL and GnuTLS tickets)",
		plural(len(changes), "time", "times"))
	if len(gaps) > 0 {
		slices.Sort(gaps)
		iv := round3(gaps[len(gaps)/2])
		ev["interval"] = iv
		msg = fmt.Sprintf("the ticket key changed %s, about every %s (the key name at the start of OpenSSL and GnuTLS tickets)",
			plural(len(changes), "time", "times"), ageText(iv))
	} else {
		ev["interval"] = nil
	}
	return ev, msg, true
}

func round3(v float64) float64 { return math.Round(v*1e3) / 1e3 }

// ageText prints an age in seconds for a message: 4.1s, 10m0s, 2h0m0s.
func ageText(v float64) string {
	d := time.Duration(v * float64(time.Second))
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
