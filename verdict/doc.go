// Package verdict decides, from what a connection's handshake showed, how
// the connection began: a full handshake, a resumption (and by which
// mechanism), or unknown; what the client offered for resumption; and
// whether an offer was rejected.
//
// [Decide] is one pure function of an [Observation] (what the handshake
// reader in package flows saw on the wire) and one fact about the past:
// whether a server in the capture assigned a given TLS 1.2 session ID
// earlier. It keeps no state and knows nothing of packets, transports or
// sessions; package sessions calls it in capture order and joins the
// result into sessions. Each rule is a doc comment on the code that
// applies it, citing its RFC section; docs/design.md ("Resumption rules")
// states them in one place.
//
// The vocabularies of the output ([Outcome], [Method], [Note]) are named
// types here, so that the words of the NDJSON contract are written once.
//
// What it deliberately does not do: look at bytes (tlsparse does), guess
// from timing, or use the heuristic ticket key hint to decide anything.
package verdict
