package quic

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// keyLog returns the NSS key log lines of a pcapng's Decryption Secrets
// Blocks (pcapng spec, Section 4.7: block type 0x0000000A, secrets type
// 0x544c534b "TLSK"), as label -> client random (hex) -> secret.
func keyLog(t *testing.T, path string) map[string]map[string][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || binary.LittleEndian.Uint32(b[8:]) != 0x1a2b3c4d {
		t.Fatal("not a little-endian pcapng")
	}
	out := map[string]map[string][]byte{}
	for len(b) >= 12 {
		typ, n := binary.LittleEndian.Uint32(b), int(binary.LittleEndian.Uint32(b[4:]))
		if n < 12 || n > len(b) {
			t.Fatalf("block of %d bytes", n)
		}
		if typ == 0x0a && binary.LittleEndian.Uint32(b[8:]) == 0x544c534b {
			sl := int(binary.LittleEndian.Uint32(b[12:]))
			sc := bufio.NewScanner(bytes.NewReader(b[16 : 16+sl]))
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != 3 {
					continue
				}
				if out[f[0]] == nil {
					out[f[0]] = map[string][]byte{}
				}
				out[f[0]][f[1]] = unhex(t, f[2])
			}
		}
		b = b[n:]
	}
	return out
}

// TestKeyLogCapture opens the server's Handshake and 1-RTT packets of the
// Chrome to Cloudflare capture with the secrets its pcapng carries, and
// checks the handshake messages against what tshark decrypted from the
// same file: EncryptedExtensions (8), CompressedCertificate (25),
// CertificateVerify (15), Finished (20) in the Handshake space, two
// NewSessionTickets (4) in 1-RTT (the TSV's nst_frames 56,56).
func TestKeyLogCapture(t *testing.T) {
	const file = "testdata/chrome-cloudflare-quic-with-secrets.pcapng"
	secrets := keyLog(t, file)
	dgs := readDatagrams(t, file)
	client, _ := observeInitials(t, dgs)
	chBody := findMsg(client.msgs, tlsparse.TypeClientHello)
	ch, err := tlsparse.ParseClientHello(chBody)
	if err != nil {
		t.Fatal(err)
	}
	random := hex.EncodeToString(ch.Random)
	hsSecret, appSecret := secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"][random], secrets["SERVER_TRAFFIC_SECRET_0"][random]
	if hsSecret == nil || appSecret == nil {
		t.Fatalf("no secrets for client random %s", random)
	}
	hsKeys, err := NewKeys(Version1, TLS_AES_128_GCM_SHA256, hsSecret)
	if err != nil {
		t.Fatal(err)
	}
	appKeys, err := NewKeys(Version1, TLS_AES_128_GCM_SHA256, appSecret)
	if err != nil {
		t.Fatal(err)
	}
	hs := &direction{open: NewOpener(hsKeys)}
	app := &direction{open: NewOpener(appKeys)}
	var clientSCIDLen = -1
	for _, dg := range dgs {
		for rest := dg.payload; len(rest) > 0; {
			dcidLen := -1
			if dg.fromServer {
				dcidLen = clientSCIDLen
			}
			p, r, err := NextPacket(rest, dcidLen)
			if err != nil {
				break // a client short header: its DCID length is the server's, not needed here
			}
			rest = r
			if !dg.fromServer {
				if p.Type == PacketInitial && clientSCIDLen < 0 {
					clientSCIDLen = len(p.SCID)
				}
				continue
			}
			var d *direction
			mode := FramesHandshake
			switch p.Type {
			case PacketHandshake:
				d = hs
			case PacketShort:
				d, mode = app, FramesAll
			default:
				continue
			}
			payload, _, err := d.open.Open(&p)
			if err != nil {
				t.Fatalf("%v packet: %v", p.Type, err)
			}
			d.payload(t, payload, mode)
		}
	}
	types := func(msgs []tlsparse.Message) []tlsparse.HandshakeType {
		var out []tlsparse.HandshakeType
		for _, m := range msgs {
			out = append(out, m.Type)
		}
		return out
	}
	if got, want := types(hs.msgs), []tlsparse.HandshakeType{8, 25, 15, 20}; !slices.Equal(got, want) {
		t.Errorf("handshake space %v, tshark %v", got, want)
	}
	if got, want := types(app.msgs), []tlsparse.HandshakeType{4, 4}; !slices.Equal(got, want) {
		t.Errorf("1-RTT space %v, tshark %v", got, want)
	}
	if app.open.Largest() < 0 || app.open.KeyPhase() != 0 {
		t.Errorf("1-RTT largest %d key phase %d", app.open.Largest(), app.open.KeyPhase())
	}
}
