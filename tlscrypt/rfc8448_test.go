package tlscrypt

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Values from RFC 8448, Section 3 ("Simple 1-RTT Handshake"), typed in
// from the RFC text (as quoted by s2n-tls and Botan's RFC 8448 tests).
const (
	rfcServerHSSecret = "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38"
	rfcServerHSKey    = "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"
	rfcServerHSIV     = "5d 31 3e b2 67 12 76 ee 13 00 0b 30"
	rfcServerAPSecret = "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43"
	rfcServerAPKey    = "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56"
	rfcServerAPIV     = "cf 78 2b 88 dd 83 54 9a ad f1 e9 84"

	// {server} send handshake record: complete record (679 octets).
	rfcServerFlight = `17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f
	45 e4 89 e7 f3 3a f3 5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca 07 61 2e f9 f9 45
	cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4 29 ba 91 91 cd 05 d2 a3 89 28 0f 52 61 34 aa dc 7f
	c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07
	16 cf b9 b1 18 3e f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c
	7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8 bf 2d 0b 22 78 12
	cb b3 60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92 8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0
	6a a6 24 82 04 79 7e 36 a6 a7 3b 70 a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b
	4c 6d e3 fc f2 a8 94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea
	52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f 44 15 cf 95 38 d5
	1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83 8d 89 f7 2c 24 46 1a ad 6d 26 f5 9e ca ba
	9a cb bb 31 7b 66 d9 02 f4 f2 92 a3 6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49
	ee da 0c 62 58 f1 00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e
	1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84 c8 b0 37 8b f3 02
	44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c f9 3b 16 49 9a 66 db 7c ca 71 e4 59
	94 26 f7 d4 61 e6 6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80
	f8 5d f8 81 ed be 5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6
	fa 4f 9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb 56 30 c8 ca 01 e0
	c6 5d 11 c6 6a 1e 2a c4 c8 59 77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51 56 14 63 6c 0b 9b
	68 c1 9e d2 e3 1c 0b 3b 66 76 30 38 eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31
	7f c9 fa 66 a7 3f 60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78
	40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3 79 4e 44 f9 4d f5
	a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e 75 0e dc 53 37 0d 2b`

	// {server} send handshake record: the NewSessionTicket (227 octets).
	rfcNSTRecord = `17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24
	0e 6c ff ac 11 6e 95 d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a 01 59 40 25 2f 55
	71 3e 06 1d c1 3e 07 88 91 a3 8e fb cf 57 53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca
	7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0 9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29
	99 ce 13 06 46 15 13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77
	f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51 9d 86 cb ee ac 87 aa c3 47 d1 43 f9 60 5d
	64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74 bc 26 97 68 7e 24 87 46 d6 df 35 30
	05 f3 bc e1 86 96 12 9c 81 53 55 6b 3b 6c 67 79 b3 7b f1 59 85 68 4f`

	// {server} construct a NewSessionTicket handshake message (205 octets).
	rfcNST = `04 00 00 c9 00 00 00 1e fa d6 aa c5 02 00 00 00 b2 2c 03 5d 82 93 59 ee
	5f f7 af 4e c9 00 00 00 00 26 2a 64 94 dc 48 6d 2c 8a 34 cb 33 fa 90 bf 1b 00 70 ad 3c 49
	88 83 c9 36 7c 09 a2 be 78 5a bc 55 cd 22 60 97 a3 a9 82 11 72 83 f8 2a 03 a1 43 ef d3 ff
	5d d3 6d 64 e8 61 be 7f d6 1d 28 27 db 27 9c ce 14 50 77 d4 54 a3 66 4d 4e 6d a4 d2 9e e0
	37 25 a6 a4 da fc d0 fc 67 d2 ae a7 05 29 51 3e 3d a2 67 7f a5 90 6c 5b 3f 7d 8f 92 f2 28
	bd a4 0d da 72 14 70 f9 fb f2 97 b5 ae a6 17 64 6f ac 5c 03 27 2e 97 07 27 c6 21 a7 91 41
	ef 5f 7d e6 50 5e 5b fb c3 88 e9 33 43 69 40 93 93 4a e4 d3 57 00 08 00 2a 00 04 00 00 04 00`

	// The start of the flight's plaintext: EncryptedExtensions (40 octets).
	rfcEncryptedExtensions = `08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01
	01 01 02 01 03 01 04 00 1c 00 02 40 01 00 00 00 00`
	// Its end: the server Finished (36 octets).
	rfcServerFinished = `14 00 00 20 9b 9b 14 1d 90 63 37 fb d2 cb dc e7 1d f4 de da 4a b4 2c
	30 95 72 cb 7f ff ee 54 54 b7 8f 07 18`
)

func TestTrafficKeysRFC8448(t *testing.T) {
	for _, tt := range []struct{ secret, key, iv string }{
		{rfcServerHSSecret, rfcServerHSKey, rfcServerHSIV},
		{rfcServerAPSecret, rfcServerAPKey, rfcServerAPIV},
	} {
		key, iv, err := TrafficKeys(TLS_AES_128_GCM_SHA256, unhex(t, tt.secret))
		if err != nil || !bytes.Equal(key, unhex(t, tt.key)) || !bytes.Equal(iv, unhex(t, tt.iv)) {
			t.Errorf("TrafficKeys = %x %x %v, want %s %s", key, iv, err, tt.key, tt.iv)
		}
	}
}

// handshakeTypes splits handshake messages and returns their types.
func handshakeTypes(t *testing.T, b []byte) []byte {
	t.Helper()
	var types []byte
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("truncated handshake header")
		}
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if len(b) < 4+n {
			t.Fatalf("truncated handshake message of type %d", b[0])
		}
		types = append(types, b[0])
		b = b[4+n:]
	}
	return types
}

func TestDecryptRFC8448(t *testing.T) {
	d, err := NewDecrypter(TLS_AES_128_GCM_SHA256, unhex(t, rfcServerHSSecret))
	if err != nil {
		t.Fatal(err)
	}
	typ, pt, err := d.Open(unhex(t, rfcServerFlight))
	if err != nil || typ != 22 {
		t.Fatalf("flight: type %d err %v", typ, err)
	}
	if len(pt) != 657 || !bytes.HasPrefix(pt, unhex(t, rfcEncryptedExtensions)) || !bytes.HasSuffix(pt, unhex(t, rfcServerFinished)) {
		t.Errorf("flight plaintext (%d bytes) is not the RFC's", len(pt))
	}
	if got := handshakeTypes(t, pt); !bytes.Equal(got, []byte{8, 11, 15, 20}) {
		t.Errorf("message types %v, want EncryptedExtensions Certificate CertificateVerify Finished", got)
	}
	// The same record a second time is at sequence 1: it must not open.
	if _, _, err := d.Open(unhex(t, rfcServerFlight)); err != ErrAuth {
		t.Errorf("replay at sequence 1: %v, want ErrAuth", err)
	}

	a, err := NewDecrypter(TLS_AES_128_GCM_SHA256, unhex(t, rfcServerAPSecret))
	if err != nil {
		t.Fatal(err)
	}
	typ, pt, err = a.Open(unhex(t, rfcNSTRecord))
	if err != nil || typ != 22 || !bytes.Equal(pt, unhex(t, rfcNST)) {
		t.Fatalf("ticket record: type %d err %v plaintext %x", typ, err, pt)
	}
	nst, err := ParseNewSessionTicket13(pt[4:])
	if err != nil {
		t.Fatal(err)
	}
	// RFC 8448, Section 3: lifetime 30 s, age_add fad6aac5, nonce 00 00,
	// a 178-byte ticket, early_data with max_early_data_size 1024.
	if nst.Lifetime != 30 || nst.AgeAdd != 0xfad6aac5 || !bytes.Equal(nst.Nonce, []byte{0, 0}) ||
		len(nst.Ticket) != 0xb2 || !nst.EarlyData || nst.MaxEarlyDataSize != 1024 {
		t.Errorf("ticket %+v", nst)
	}
	if !bytes.Equal(nst.Ticket[:4], []byte{0x2c, 0x03, 0x5d, 0x82}) {
		t.Errorf("ticket starts %x", nst.Ticket[:4])
	}
}

func TestParseNewSessionTicket13Prefixes(t *testing.T) {
	body := unhex(t, rfcNST)[4:]
	for i := range len(body) {
		if _, err := ParseNewSessionTicket13(body[:i]); err == nil {
			t.Errorf("prefix of %d bytes parsed", i)
		}
	}
}

// TestNextSecret checks KeyUpdate against Botan's RFC 8448 test, which
// extends the trace with application_traffic_secret_1 (Botan computed
// them; RFC 8448 has no KeyUpdate).
func TestNextSecret(t *testing.T) {
	got, err := NextSecret(TLS_AES_128_GCM_SHA256, unhex(t, rfcServerAPSecret))
	want := unhex(t, "51 92 1b 8a a3 00 19 76 eb 40 1d 0a 43 19 a8 51 64 16 a6 c5 60 01 a3 57 e5 d1 62 03 1e 84 f9 16")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("NextSecret = %x, want %x", got, want)
	}
	d, _ := NewDecrypter(TLS_AES_128_GCM_SHA256, unhex(t, rfcServerAPSecret))
	d.Open(unhex(t, rfcNSTRecord))
	if err := d.Update(); err != nil || d.Seq() != 0 || !bytes.Equal(d.secret, want) {
		t.Errorf("Update: %v seq %d", err, d.Seq())
	}
}

func TestOpenAllocs(t *testing.T) {
	rec := unhex(t, rfcServerFlight)
	d, _ := NewDecrypter(TLS_AES_128_GCM_SHA256, unhex(t, rfcServerHSSecret))
	n := testing.AllocsPerRun(100, func() {
		d.seq = 0
		if _, _, err := d.Open(rec); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Open allocates %v times per record", n)
	}
}
