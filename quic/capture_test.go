package quic

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// datagram is one UDP payload of a capture (test only: the package never
// sees IP or UDP headers).
type datagram struct {
	fromServer bool
	payload    []byte
}

// readDatagrams returns the UDP payloads of a capture, server side being
// port 443.
func readDatagrams(t testing.TB, path string) []datagram {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var lt layers.LinkType
	if strings.HasSuffix(path, ".pcapng") {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	}
	var out []datagram
	for {
		data, _, err := src.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		pkt := gopacket.NewPacket(data, lt, gopacket.Default)
		udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			continue
		}
		out = append(out, datagram{fromServer: udp.SrcPort == 443, payload: bytes.Clone(udp.Payload)})
	}
}

// groundTruth returns the QUIC row of a groundtruth TSV (made by tshark,
// see testdata/README.md) as column -> value.
func groundTruth(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "groundtruth", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var cols []string
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = fields
			continue
		}
		row := map[string]string{}
		for i, c := range cols {
			if i < len(fields) {
				row[c] = fields[i]
			}
		}
		if row["proto"] == "quic" {
			return row
		}
	}
	t.Fatalf("%s: no quic row", name)
	return nil
}

// direction is what an observer keeps for one direction of the Initial
// space: opener, CRYPTO reassembly, handshake message assembly.
type direction struct {
	open   *Opener
	crypto CryptoStream
	asm    tlsparse.Assembler
	msgs   []tlsparse.Message
}

func (d *direction) payload(t *testing.T, payload []byte, mode FrameMode) {
	var r FrameReader
	r.Reset(payload, mode)
	for {
		f, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("frames: %v", err)
		}
		if err := d.crypto.Push(f.Offset, f.Data); err != nil {
			t.Fatal(err)
		}
		if b := d.crypto.Read(); len(b) > 0 {
			d.asm.Write(b)
			for {
				m, err := d.asm.Next()
				if err != nil {
					break
				}
				m.Body = bytes.Clone(m.Body)
				d.msgs = append(d.msgs, m)
			}
		}
	}
}

// observeInitials opens every Initial of a capture and returns each
// direction's handshake messages.
func observeInitials(t *testing.T, dgs []datagram) (client, server *direction) {
	client, server = &direction{}, &direction{}
	for i, dg := range dgs {
		if !dg.fromServer && i == 0 && !Looks(dg.payload) {
			t.Fatal("Looks says the client's first datagram is not QUIC")
		}
		for rest := dg.payload; len(rest) > 0; {
			p, r, err := NextPacket(rest, -1)
			if err != nil {
				break // a short header: no keys for it here
			}
			rest = r
			if p.Type != PacketInitial {
				continue
			}
			if client.open == nil {
				if dg.fromServer {
					t.Fatal("server Initial before the client's")
				}
				c, s, err := InitialKeys(p.Version, p.DCID)
				if err != nil {
					t.Fatal(err)
				}
				client.open, server.open = NewOpener(c), NewOpener(s)
			}
			d := client
			if dg.fromServer {
				d = server
			}
			payload, _, err := d.open.Open(&p)
			if err != nil {
				t.Fatalf("datagram %d: %v", i, err)
			}
			d.payload(t, payload, FramesHandshake)
		}
	}
	return client, server
}

func findMsg(msgs []tlsparse.Message, typ tlsparse.HandshakeType) []byte {
	for _, m := range msgs {
		if m.Type == typ {
			return m.Body
		}
	}
	return nil
}

// TestCaptures reads the ClientHello (and ServerHello, where the capture
// has one) out of real QUIC captures and checks them against tshark's
// ground truth.
func TestCaptures(t *testing.T) {
	for _, tt := range []struct {
		file, truth string
		// cipher is what tshark shows the ServerHello chose
		// (tshark -r FILE -Y 'tls.handshake.type == 2' -T fields -e
		// tls.handshake.ciphersuite); the TSV has no cipher column.
		cipher tlsparse.CipherSuite
	}{
		{"quicietf.pcap", "arkime__quicietf.pcap.tsv", 0},
		{"quicietfooo.pcap", "arkime__quicietfooo.pcap.tsv", 0},
		{"quic-tls-handshake.pcapng", "ja4__quic-tls-handshake.pcapng.tsv", 0},
		{"quic-with-several-tls-frames.pcapng", "ja4__quic-with-several-tls-frames.pcapng.tsv", 0},
		{"chrome-cloudflare-quic-with-secrets.pcapng", "ja4__chrome-cloudflare-quic-with-secrets.pcapng.tsv", 0x1301},
	} {
		t.Run(tt.file, func(t *testing.T) {
			row := groundTruth(t, tt.truth)
			client, server := observeInitials(t, readDatagrams(t, filepath.Join("testdata", tt.file)))
			body := findMsg(client.msgs, tlsparse.TypeClientHello)
			if body == nil {
				t.Fatalf("no ClientHello; messages %v", client.msgs)
			}
			ch, err := tlsparse.ParseClientHello(body)
			if err != nil {
				t.Fatal(err)
			}
			if ch.ServerName != row["sni"] {
				t.Errorf("sni %q, tshark %q", ch.ServerName, row["sni"])
			}
			if n, _ := strconv.Atoi(row["ch_psk_ids"]); len(ch.PSKIdentities) != n {
				t.Errorf("%d PSK identities, tshark %d", len(ch.PSKIdentities), n)
			}
			if ch.EarlyData != (row["early_data"] == "1") {
				t.Errorf("early_data %v, tshark %q", ch.EarlyData, row["early_data"])
			}
			sh := findMsg(server.msgs, tlsparse.TypeServerHello)
			if (sh != nil) != (row["sh_frame"] != "") {
				t.Fatalf("ServerHello found %v, tshark frame %q", sh != nil, row["sh_frame"])
			}
			if sh == nil {
				return
			}
			s, err := tlsparse.ParseServerHello(sh)
			if err != nil {
				t.Fatal(err)
			}
			var exts []string
			for _, e := range s.Extensions {
				exts = append(exts, strconv.Itoa(int(e.Type)))
			}
			if s.HasPSK != (row["sh_psk"] == "1") || strings.Join(exts, ",") != row["sh_ext_types"] || s.CipherSuite != tt.cipher {
				t.Errorf("ServerHello psk %v exts %v cipher %v, tshark psk %q exts %q cipher %v",
					s.HasPSK, exts, s.CipherSuite, row["sh_psk"], row["sh_ext_types"], tt.cipher)
			}
		})
	}
}
