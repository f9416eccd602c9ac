// Package keylog reads TLS secrets in the NSS key log format (the file
// SSLKEYLOGFILE names, and the payload of a pcapng Decryption Secrets Block
// of type TLSK) and keeps them in a bounded [Store] keyed by the client
// random.
//
// A key log line is `LABEL <client_random> <secret>`: the label, the 32-byte
// ClientHello.random in hex, and the secret in hex. Lines starting with `#`
// are comments; blank lines are skipped; a CR before the LF is tolerated.
// The TLS 1.3 labels (CLIENT_HANDSHAKE_TRAFFIC_SECRET,
// SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0,
// SERVER_TRAFFIC_SECRET_0, CLIENT_EARLY_TRAFFIC_SECRET, EXPORTER_SECRET)
// carry a 32- or 48-byte secret (SHA-256 or SHA-384 suites); the TLS 1.2
// label CLIENT_RANDOM carries the 48-byte master secret. A well-formed line
// with any other label (RSA, EARLY_EXPORTER_SECRET, ...) is counted as
// unknown and skipped. A line that is not well-formed (wrong field count,
// bad hex, wrong lengths, over [MaxLineLen]) is counted as malformed and
// skipped; [Stats] remembers the number of the first one so a command can
// print one warning.
//
// Reading: [Store.ReadFrom] streams any io.Reader line by line and never
// holds more than one line; [Follower] re-reads a growing file (a live
// capture's key log) from where it stopped each time the caller calls
// [Follower.Poll]; [Store.AddDSB] takes a Decryption Secrets Block body.
// Nothing in this package starts a goroutine, and nothing is safe for
// concurrent use: one goroutine owns a Store and the Followers feeding it.
//
// Memory: a Store holds at most [Options.MaxEntries] client randoms and
// evicts the oldest (first seen) when a new one arrives at the bound, so a
// huge key log full of connections absent from the capture cannot grow it
// without limit. See [BytesPerEntry] for what one entry costs.
//
// Buffers: [ParseLine] borrows its input only for the call and returns
// values, not slices into it. A [Secrets] value returned by
// [Store.Lookup] is immutable: later additions build a new one, so the
// caller may keep it; the slices from [Secrets.Get] must not be modified.
//
// What it deliberately does not do: derive keys or decrypt (package
// tlscrypt does), read RSA private keys, or interpret the pcapng framing
// around a Decryption Secrets Block beyond its own body.
//
// The package imports only the standard library.
package keylog
