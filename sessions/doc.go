// Package sessions joins judged connections into TLS sessions and keeps
// the figures an operator reads: totals, the per-server table, farm pairs
// and lifetime findings.
//
// A session is a set of keys joined by union-find (docs/design.md,
// "Sessions"): `sid:<hex>` for a session ID a server assigned, `tkt:<digest>`
// for a TLS 1.2 ticket, `psk:<digest>` for a TLS 1.3 PSK identity. A full
// handshake that hands out a session ID or ticket is the session's origin;
// a resumption joins the session of the key it used and points at the
// origin.
//
// [Sessions.Observed] takes each connection's [verdict.Observation] in
// capture order (package flows's merger guarantees it), asks
// [verdict.Decide] for the verdict, with the one fact that depends on the
// past (was this session ID assigned earlier?), joins the connection into
// its session and hands the finished [Conn] event to Config.EmitConn.
// Sessions end, and are handed to Config.EmitSession, when idle for
// Config.Timeout of capture time ([Sessions.Tick]), when more than
// Config.Max are held (the oldest first), or at the end ([Sessions.End]).
//
// Threading: a Sessions is used by one goroutine at a time (the merger's
// while the capture is read, the caller's after flows.Tracker.Close).
// Memory: the sessions held (bounded by Config.Max), one row per server,
// and per session at most [Members] connection summaries for reports.
package sessions
