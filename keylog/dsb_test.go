package keylog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// dsbBodies walks a little-endian pcapng file block by block (block type,
// total length, body, total length) and returns the bodies of its
// Decryption Secrets Blocks (type 0x0000000A).
func dsbBodies(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(data) >= 12 {
		typ := binary.LittleEndian.Uint32(data[0:4])
		n := int(binary.LittleEndian.Uint32(data[4:8]))
		if n < 12 || n > len(data) {
			t.Fatalf("bad block length %d", n)
		}
		if typ == 0x0a {
			out = append(out, data[8:n-4])
		}
		data = data[n:]
	}
	return out
}

// TestDSB reads the Decryption Secrets Blocks of two real pcapng files:
// Wireshark's tls12-dsb.pcapng, made by injecting tls12-dsb-1.keys and
// tls12-dsb-2.keys, and clipper's nya-dsb.pcapng, whose secrets are those of
// clipper-sslkeylog.txt. The secrets data must be those files' text.
func TestDSB(t *testing.T) {
	tests := []struct {
		pcapng string
		keys   []string // the key log each DSB holds, byte for byte, or "" to skip the comparison
		added  int64
	}{
		{"tls12-dsb.pcapng", []string{"tls12-dsb-1.keys", "tls12-dsb-2.keys"}, 2},
		{"nya-dsb.pcapng", []string{""}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.pcapng, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.pcapng))
			if err != nil {
				t.Fatal(err)
			}
			bodies := dsbBodies(t, data)
			if len(bodies) != len(tt.keys) {
				t.Fatalf("%d DSBs, want %d", len(bodies), len(tt.keys))
			}
			s := NewStore(Options{})
			for i, body := range bodies {
				typ, sec, err := ParseDSB(body, binary.LittleEndian)
				if err != nil || typ != SecretsTypeTLSKeyLog {
					t.Fatalf("ParseDSB: type %#x err %v", typ, err)
				}
				if tt.keys[i] != "" {
					want, err := os.ReadFile(filepath.Join("testdata", tt.keys[i]))
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(sec, want) {
						t.Errorf("DSB %d is not %s:\n%q\n%q", i, tt.keys[i], sec, want)
					}
				}
				if err := s.AddDSB(typ, sec); err != nil {
					t.Fatal(err)
				}
			}
			var added int64
			for _, n := range s.Stats().Added {
				added += n
			}
			if added != tt.added || s.Stats().Malformed != 0 {
				t.Errorf("added %d malformed %d, want %d 0", added, s.Stats().Malformed, tt.added)
			}
			if tt.pcapng == "nya-dsb.pcapng" {
				ref := NewStore(Options{})
				f, err := os.Open(filepath.Join("testdata", "clipper-sslkeylog.txt"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				ref.ReadFrom(f)
				if ref.Stats().Added != s.Stats().Added {
					t.Errorf("DSB added %v, key log file %v", s.Stats().Added, ref.Stats().Added)
				}
			}
		})
	}
}

func TestDSBErrors(t *testing.T) {
	for _, body := range [][]byte{nil, {1, 2, 3}, {0x4b, 0x53, 0x4c, 0x54, 9, 0, 0, 0, 'a'}} {
		if _, _, err := ParseDSB(body, binary.LittleEndian); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseDSB(%x) = %v", body, err)
		}
	}
	s := NewStore(Options{})
	if err := s.AddDSB(0x57474b4c, []byte("x")); !errors.Is(err, ErrNotTLSKeyLog) || s.Stats().DSBSkipped != 1 {
		t.Errorf("WireGuard DSB: %v", err)
	}
}
