package tlscrypt

import (
	"bytes"
	"crypto/aes"
	"testing"
)

func seq(a, b int) []byte {
	out := make([]byte, 0, b-a)
	for i := a; i < b; i++ {
		out = append(out, byte(i))
	}
	return out
}

// TestCCMVectors: RFC 3610 Packet Vector #1, NIST SP 800-38C Appendix C
// examples 1 to 3, and TLS-shaped cases (12-byte nonce, 16-byte tag) whose
// expected output came from Python cryptography 48 (OpenSSL) AESCCM:
// AESCCM(key, tag).encrypt(nonce, payload, aad).
func TestCCMVectors(t *testing.T) {
	tls16Key := "000102030405060708090a0b0c0d0e0f"
	tls16Nonce := "f0f1f2f3f4f5f6f7f8f9fafb"
	tests := []struct {
		name       string
		key, nonce string
		tag        int
		aad, pt    []byte
		ct         string // ciphertext || tag
	}{
		{"rfc3610 #1", "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000003020100a0a1a2a3a4a5", 8, seq(0, 8), seq(8, 0x1f),
			"588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0"},
		{"sp800-38c c.1", "404142434445464748494a4b4c4d4e4f", "10111213141516", 4, seq(0, 8), seq(0x20, 0x24),
			"7162015b4dac255d"},
		{"sp800-38c c.2", "404142434445464748494a4b4c4d4e4f", "1011121314151617", 6, seq(0, 16), seq(0x20, 0x30),
			"d2a1f0e051ea5f62081a7792073d593d1fc64fbfaccd"},
		{"sp800-38c c.3", "404142434445464748494a4b4c4d4e4f", "101112131415161718191a1b", 8, seq(0, 20), seq(0x20, 0x38),
			"e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951"},
		{"tls 16-byte tag", tls16Key, tls16Nonce, 16, []byte{0x17, 3, 3, 0, 0x35}, seq(0, 37),
			"7747ef4ef7cc2c2d9bbd532843632418d8ae88ea6540dcccc93a7529d125608bd2ca0080a8eb059a1704efe5b6e9730279eb8e6e43"},
		{"tls no aad", tls16Key, tls16Nonce, 16, nil, seq(0, 100),
			"7747ef4ef7cc2c2d9bbd532843632418d8ae88ea6540dcccc93a7529d125608bd2ca0080a8a51966457c5228dadaa2f7ef77d34ff7dfed805c5a1e2856c568cb45adcc935e96e49fd58f3aeec01e4e03f2c41ede9e3f95cd05d3e39b55eba4446030bbd3f1abdd288188999a7c48fc41bdab1bfc"},
		{"tls empty payload", tls16Key, tls16Nonce, 16, seq(0, 70), nil, "2046bbb32077826b4697c2ac009fc06f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := aes.NewCipher(unhex(t, tt.key))
			if err != nil {
				t.Fatal(err)
			}
			nonce := unhex(t, tt.nonce)
			c, err := NewCCM(b, len(nonce), tt.tag)
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, tt.ct)
			if got := c.Seal(nil, nonce, tt.pt, tt.aad); !bytes.Equal(got, want) {
				t.Errorf("Seal = %x, want %x", got, want)
			}
			pt, err := c.Open(nil, nonce, want, tt.aad)
			if err != nil || !bytes.Equal(pt, tt.pt) {
				t.Errorf("Open = %x %v", pt, err)
			}
			for i := range want {
				bad := bytes.Clone(want)
				bad[i] ^= 1
				if _, err := c.Open(nil, nonce, bad, tt.aad); err == nil {
					t.Fatalf("flipped byte %d opened", i)
				}
			}
			// In place, as the TLS record layer uses it.
			buf := bytes.Clone(want)
			if pt, err := c.Open(buf[:0], nonce, buf, tt.aad); err != nil || !bytes.Equal(pt, tt.pt) {
				t.Errorf("in-place Open = %x %v", pt, err)
			}
		})
	}
}

// TestDecrypterCCM seals records the way a TLS 1.3 sender does (RFC 8446,
// Section 5.2: inner plaintext = content || type || zeros; header as AAD;
// nonce = iv XOR seq) with the CCM checked above, for both CCM suites,
// and opens them with a Decrypter.
func TestDecrypterCCM(t *testing.T) {
	secret := unhex(t, rfcServerHSSecret)
	for _, tt := range []struct {
		suite Suite
		tag   int
	}{{TLS_AES_128_CCM_SHA256, 16}, {TLS_AES_128_CCM_8_SHA256, 8}} {
		key, iv, _ := TrafficKeys(tt.suite, secret)
		b, _ := aes.NewCipher(key)
		c, _ := NewCCM(b, 12, tt.tag)
		d, err := NewDecrypter(tt.suite, secret)
		if err != nil {
			t.Fatal(err)
		}
		for s := uint64(0); s < 3; s++ {
			inner := append(seq(0, 10+int(s)), 22, 0, 0, 0)
			n := len(inner) + tt.tag
			hdr := []byte{23, 3, 3, byte(n >> 8), byte(n)}
			nonce := bytes.Clone(iv)
			nonce[11] ^= byte(s)
			rec := c.Seal(bytes.Clone(hdr), nonce, inner, hdr)
			typ, pt, err := d.Open(rec)
			if err != nil || typ != 22 || !bytes.Equal(pt, seq(0, 10+int(s))) {
				t.Errorf("%v seq %d: %d %x %v", tt.suite, s, typ, pt, err)
			}
		}
	}
}
