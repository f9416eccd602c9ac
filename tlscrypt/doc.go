// Package tlscrypt holds the TLS 1.3 record-layer pieces a passive reader
// needs to decrypt, with secrets from a key log, the server's encrypted
// handshake flight (EncryptedExtensions, Certificate, CertificateVerify,
// Finished) and the NewSessionTickets that follow it:
//
//   - [ExpandLabel] (HKDF-Expand-Label, RFC 8446, Section 7.1),
//     [TrafficKeys] (Section 7.3) and [NextSecret] (KeyUpdate, Section 7.2);
//   - the cipher suites of RFC 8446, Appendix B.4, AES-128-CCM included:
//     [NewCCM] is an AES-CCM AEAD (RFC 3610, NIST SP 800-38C), which the Go
//     standard library lacks;
//   - [Decrypter], which opens the protected records of one direction
//     (Sections 5.2 to 5.4) and applies KeyUpdate;
//   - [ParseNewSessionTicket13], the TLS 1.3 NewSessionTicket (Section
//     4.6.1).
//
// What it deliberately does not do: run a key schedule from shared
// secrets (the key log gives traffic secrets directly), verify Finished or
// signatures, encrypt, or keep application data: a caller stops at the
// tickets.
//
// Buffers: a Decrypter owns one buffer of at most 2^14+256 bytes and
// decrypts every record into it; the plaintext returned by Open aliases it
// and is valid until the next Open. Open borrows the record only for the
// call. A parsed NewSessionTicket13 keeps slices into the body it was
// parsed from. Nothing here is safe for concurrent use; nothing starts a
// goroutine.
//
// Errors are prefixed "tlscrypt:"; [ErrAuth] marks a record that did not
// authenticate (wrong keys, or corrupted bytes) and [ErrMalformed] bytes
// that cannot be a record or message.
//
// The package imports only the standard library and golang.org/x/crypto.
package tlscrypt
