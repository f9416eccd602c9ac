// Package fingerprint computes client fingerprints of a parsed
// ClientHello: JA3 (Salesforce's MD5 over version, cipher suites,
// extensions, elliptic curves and point formats) and JA4 (FoxIO's TLS
// client fingerprint, the BSD-3-Clause part of JA4+; technical_details/JA4.md
// in FoxIO-LLC/ja4).
//
// Both drop GREASE values (RFC 8701) wherever they appear. Both read only
// what [tlsparse.ParseClientHello] (or [tlsparse.ParseSSLv2Hello]) keeps,
// so a fingerprint is a pure function of one hello and the transport it
// came over.
//
// What it deliberately does not do: the rest of JA4+ (JA4S, JA4H, JA4X,
// JA4L, JA4SSH, JA4T, ...), whose licence differs from JA4's; JA3S; the
// "original order" JA4_o variants; reading packets. The caller finds the
// ClientHello (tlsparse over TCP, the QUIC CRYPTO frames, DTLS handshake
// fragments) and says which transport it came over.
//
// Buffers: the functions read the ClientHello and keep nothing of it; the
// strings they return are new.
//
// The package imports only the standard library and tlsparse.
package fingerprint
