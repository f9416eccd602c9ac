package flows

import (
	"errors"
	"io"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlsresume/tlsresume/keylog"
	"github.com/tlsresume/tlsresume/tlscrypt"
	"github.com/tlsresume/tlsresume/tlsparse"
	"github.com/tlsresume/tlsresume/verdict"
)

// Keys gives a connection's TLS secrets by its ClientHello random (from a
// key log or a pcapng Decryption Secrets Block). It is called from the
// worker goroutines: an implementation must be safe for concurrent use.
type Keys interface {
	Lookup(clientRandom [32]byte) (keylog.Secrets, bool)
}

// Bounds of the decryption of one server flight: past them the reading
// stops and the verdict is given with what was read.
const (
	maxDecryptRecords = 64
	maxDecryptBytes   = 256 << 10
)

// serverFlight13 decrypts what a TLS 1.3 server sends after its
// ServerHello, with the secrets of the key log: the handshake flight
// under the server handshake traffic secret (EncryptedExtensions,
// Certificate or not, Finished), then, under the first application traffic
// secret, the records up to and including its NewSessionTickets (RFC 8446,
// Sections 4.3, 4.6.1, 7.1). KeyUpdate (Section 4.6.3) is followed.
// Application data is counted and skipped: its plaintext is never kept.
type serverFlight13 struct {
	h     *handshake
	suite tlscrypt.Suite
	dec   *tlscrypt.Decrypter
	app   []byte // SERVER_TRAFFIC_SECRET_0, for after the Finished
	inApp bool
	msgs  tlsparse.Assembler
	rec   []byte // the record rebuilt with its header, for the AEAD
	n     int    // records read
	bytes int

	ee, earlyAccepted, cert bool
	tickets                 []verdict.Issued
	failed                  bool
}

// kept13 are the decrypted messages whose bodies are read.
func kept13(t tlsparse.HandshakeType) bool {
	switch t {
	case tlsparse.TypeEncryptedExtensions, tlsparse.TypeNewSessionTicket, tlsparse.TypeKeyUpdate:
		return true
	}
	return false
}

// newServerFlight13 returns the decryption of the server flight, or nil
// when the key log does not have the server's handshake secret.
func newServerFlight13(h *handshake, suite tlsparse.CipherSuite, s keylog.Secrets) *serverFlight13 {
	hsSecret, ok := s.Get(keylog.ServerHandshakeTrafficSecret)
	if !ok {
		return nil
	}
	dec, err := tlscrypt.NewDecrypter(tlscrypt.Suite(suite), hsSecret)
	if err != nil {
		return nil
	}
	f := &serverFlight13{h: h, suite: tlscrypt.Suite(suite), dec: dec}
	if app, ok := s.Get(keylog.ServerTrafficSecret0); ok {
		f.app = app
	}
	f.msgs.Keep = kept13
	f.msgs.Max = h.c.w.cfg.MaxMessage
	return f
}

// record takes one encrypted record of the server (its fragment) and
// reports whether the reading is over.
func (f *serverFlight13) record(frag []byte) bool {
	f.n++
	f.bytes += len(frag)
	f.rec = append(f.rec[:0], byte(tlsparse.RecordApplicationData), 3, 3, byte(len(frag)>>8), byte(len(frag)))
	f.rec = append(f.rec, frag...)
	typ, pt, err := f.dec.Open(f.rec)
	if err != nil {
		f.failed = true
		f.h.count.DecryptFailures++
		f.h.note(verdict.NoteDecryptFailed)
		return true
	}
	f.h.count.RecordsDecrypted++
	switch tlsparse.RecordType(typ) {
	case tlsparse.RecordHandshake:
		f.msgs.Write(pt)
		for {
			m, err := f.msgs.Next()
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				f.failed = true
				return true
			}
			if f.message(m) {
				return true
			}
		}
	case tlsparse.RecordApplicationData:
		// The server writes data: its tickets, if any, came first.
		if f.inApp && len(f.tickets) > 0 {
			return true
		}
	case tlsparse.RecordAlert:
		return true
	}
	return f.n >= maxDecryptRecords || f.bytes >= maxDecryptBytes
}

// message takes one decrypted handshake message and reports whether the
// reading is over.
func (f *serverFlight13) message(m tlsparse.Message) bool {
	h := f.h
	if l, ok := historyLetters[m.Type]; ok {
		h.letter(h.server, l)
	} else {
		h.letter(h.server, 'u')
	}
	switch m.Type {
	case tlsparse.TypeEncryptedExtensions:
		f.ee = true
		f.earlyAccepted = earlyDataAccepted(m.Body)
	case tlsparse.TypeCertificate:
		f.cert = true
	case tlsparse.TypeFinished:
		// RFC 8446, Section 7.3: what follows the server's Finished is
		// protected with the application traffic secret.
		if f.app == nil {
			return true
		}
		dec, err := tlscrypt.NewDecrypter(f.suite, f.app)
		if err != nil {
			return true
		}
		f.dec, f.inApp = dec, true
	case tlsparse.TypeNewSessionTicket:
		if is, ok := h.ticket13(m.Body); ok {
			f.tickets = append(f.tickets, is)
		}
	case tlsparse.TypeKeyUpdate:
		// RFC 8446, Section 4.6.3: the sender's next records use the next
		// traffic secret.
		if f.dec.Update() != nil {
			return true
		}
	}
	return false
}

// facts copies what the decryption showed into the observation.
func (f *serverFlight13) facts(ob *verdict.Observation) {
	ob.Keys = true
	ob.EncryptedExtensions, ob.EarlyDataAccepted, ob.Certificate = f.ee, f.earlyAccepted, f.cert
	ob.DecryptFailed = f.failed
	ob.Tickets = append(ob.Tickets, f.tickets...)
}

// earlyDataAccepted reads an EncryptedExtensions body (RFC 8446, Section
// 4.3.1): an early_data extension (empty here) says the server accepted
// 0-RTT (Section 4.2.10).
func earlyDataAccepted(body []byte) bool {
	s := cryptobyte.String(body)
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return false
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return false
		}
		if tlsparse.ExtensionType(typ) == tlsparse.ExtEarlyData {
			return true
		}
	}
	return false
}

// ticket13 reads a TLS 1.3 NewSessionTicket body (RFC 8446, Section
// 4.6.1) into the issued entry of kind psk whose digest is the identity a
// client will offer; a malformed one is counted and noted.
func (h *handshake) ticket13(body []byte) (verdict.Issued, bool) {
	t, err := tlscrypt.ParseNewSessionTicket13(body)
	if err != nil {
		h.count.MalformedTicket++
		h.note(verdict.NoteMalformedTicket)
		return verdict.Issued{}, false
	}
	is := verdict.Issued{Kind: verdict.IssuedPSK, Digest: Digest(t.Ticket), Length: len(t.Ticket),
		LifetimeHint: int64(t.Lifetime), AgeAdd: t.AgeAdd}
	if t.EarlyData {
		is.MaxEarlyData = t.MaxEarlyDataSize
	}
	return is, true
}
