package quic

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHKDFLabel checks the HkdfLabel encodings RFC 9001, Appendix A.1 and
// RFC 9369, Appendix A.1 print.
func TestHKDFLabel(t *testing.T) {
	for _, tt := range []struct {
		label  string
		length int
		want   string
	}{
		{"client in", 32, "00200f746c73313320636c69656e7420696e00"},
		{"server in", 32, "00200f746c7331332073657276657220696e00"},
		{"quic key", 16, "00100e746c7331332071756963206b657900"},
		{"quic iv", 12, "000c0d746c733133207175696320697600"},
		{"quic hp", 16, "00100d746c733133207175696320687000"},
		{"quicv2 key", 16, "001010746c73313320717569637632206b657900"},
		{"quicv2 iv", 12, "000c0f746c7331332071756963763220697600"},
		{"quicv2 hp", 16, "00100f746c7331332071756963763220687000"},
	} {
		// expandLabel must be HKDF-Expand with the info the RFC prints.
		secret := unhex(t, "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44")
		want, err := hkdf.Expand(sha256.New, secret, string(unhex(t, tt.want)), tt.length)
		if err != nil {
			t.Fatal(err)
		}
		got, err := expandLabel(sha256.New, secret, tt.label, tt.length)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("expandLabel(%q, %d) = %x, %v; want HKDF-Expand with info %s", tt.label, tt.length, got, err, tt.want)
		}
	}
	// RFC 9001, Appendix A.1: client_initial_secret from initial_secret.
	initial := unhex(t, "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44")
	got, err := expandLabel(sha256.New, initial, "client in", 32)
	if err != nil {
		t.Fatal(err)
	}
	if want := "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"; hex.EncodeToString(got) != want {
		t.Errorf("client_initial_secret = %x, want %s", got, want)
	}
}
