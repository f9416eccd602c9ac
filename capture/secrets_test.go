package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyLogLabels counts the lines of NSS key log text by label.
func keyLogLabels(b []byte) map[string]int {
	m := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && !strings.HasPrefix(f[0], "#") {
			m[f[0]]++
		}
	}
	return m
}

func TestSecretsCorpus(t *testing.T) {
	// tshark 4.0's --export-tls-session-keys writes nothing for TLS 1.3
	// secrets (tried on both files), so the truth is read off the files
	// by hand with xxd: the Decryption Secrets Block's offset, its
	// Secrets Length field, and the label of each line of the payload
	// (dd at the payload's offset, awk '{print $1}' | sort | uniq -c).
	// For nya-dsb.pcapng the clipper project also ships the key log it
	// injected (corpus/clipper/expected/sslkeylog.txt, MPL-2.0, not
	// copied here): its lines are compared when the shared corpus is
	// there.
	for _, c := range []struct {
		path   string
		length int // Secrets Length: xxd at offset 0x8c, and 0x6c for nya
		labels map[string]int
		keylog string // the key log the capture was made with, if at hand
	}{
		{"testdata/chrome-cloudflare-quic-with-secrets.pcapng", 0x614, map[string]int{
			"CLIENT_HANDSHAKE_TRAFFIC_SECRET": 2, "SERVER_HANDSHAKE_TRAFFIC_SECRET": 2,
			"CLIENT_TRAFFIC_SECRET_0": 2, "SERVER_TRAFFIC_SECRET_0": 2, "EXPORTER_SECRET": 2,
		}, ""},
		{"../testdata/pcaps/corpus/clipper/nya-dsb.pcapng", 0x3aa, map[string]int{
			"CLIENT_HANDSHAKE_TRAFFIC_SECRET": 1, "SERVER_HANDSHAKE_TRAFFIC_SECRET": 1,
			"CLIENT_TRAFFIC_SECRET_0": 1, "SERVER_TRAFFIC_SECRET_0": 1, "EXPORTER_SECRET": 1,
		}, "/work/shared/corpus/clipper/expected/sslkeylog.txt"},
	} {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			var got []Secrets
			packetsBefore := -1
			n := 0
			src, err := OpenFilesWith([]string{c.path}, nil, Options{Secrets: func(s Secrets) {
				got = append(got, s)
				if packetsBefore < 0 {
					packetsBefore = n
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			for ; ; n++ {
				if _, err := src.Next(); err != nil {
					break
				}
			}
			if len(got) != 1 {
				t.Fatalf("%d secrets blocks, want 1", len(got))
			}
			s := got[0]
			if s.Type != SecretsTLSKeyLog || s.File != c.path || len(s.Data) != c.length {
				t.Errorf("got %v from %s, %d bytes; want TLS key log, %d bytes", s.Type, s.File, len(s.Data), c.length)
			}
			if packetsBefore != 0 {
				t.Errorf("secrets passed on after %d packets; the block comes before the first", packetsBefore)
			}
			if l := keyLogLabels(s.Data); len(l) != len(c.labels) || !equalCounts(l, c.labels) {
				t.Errorf("labels %v, want %v", l, c.labels)
			}
			if c.keylog == "" {
				return
			}
			want, err := os.ReadFile(c.keylog)
			if err != nil {
				t.Logf("no %s: compared with the counts only", c.keylog)
				return
			}
			var lines []string
			for _, l := range strings.Split(string(want), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			if g := strings.Split(strings.TrimSuffix(string(s.Data), "\n"), "\n"); strings.Join(g, "\n") != strings.Join(lines, "\n") {
				t.Errorf("payload differs from %s:\n got %q\nwant %q", c.keylog, g, lines)
			}
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// secretsFile is a pcapng file with secrets blocks in both byte orders,
// one before any interface and one between packets, and what they hold.
func secretsFile() ([]byte, [][]byte, int) {
	data, want, before, _ := secretsFileEnds()
	return data, want, before
}

// secretsFileEnds is secretsFile with the offset where each block ends.
func secretsFileEnds() ([]byte, [][]byte, int, []int) {
	ps := genPackets(21, 30, 200, 0)
	var b ngBuilder
	var ends []int
	dsb := func(s string) {
		body := b.order.AppendUint32(nil, 0x544c534b)
		body = b.order.AppendUint32(body, uint32(len(s)))
		body = append(body, s...)
		b.block(10, body)
		ends = append(ends, b.buf.Len())
	}
	first := "CLIENT_RANDOM 0011 2233\n"
	second := "CLIENT_TRAFFIC_SECRET_0 4455 6677\nSERVER_TRAFFIC_SECRET_0 4455 8899\n"
	b.section(binary.BigEndian)
	dsb(first)
	b.iface(1, 9, 0)
	for _, p := range ps[:10] {
		b.epb(0, p, true)
	}
	b.section(binary.LittleEndian)
	b.iface(1, 9, 0)
	for _, p := range ps[10:20] {
		b.epb(0, p, true)
	}
	dsb(second)
	for _, p := range ps[20:] {
		b.epb(0, p, true)
	}
	return b.buf.Bytes(), [][]byte{[]byte(first), []byte(second)}, 20, ends
}

func TestSecretsOrder(t *testing.T) {
	// Each block is passed on once, in order, before the packets after
	// it, whatever the block size, for stdin (its blocks found while
	// OpenFiles checks the header) and a named file (opened twice).
	data, want, before := secretsFile()
	dir := t.TempDir()
	name := writeFile(t, dir, "s.pcapng", data)
	gzName := writeFile(t, dir, "s.pcapng.gz", gz(t, data))
	for _, size := range []int{1, 7, 64, 4096, blockSize} {
		for _, in := range []string{"-", name, gzName} {
			var got [][]byte
			var at []int
			n := 0
			src, err := openFiles([]string{in}, bytes.NewReader(data), size, Options{Secrets: func(s Secrets) {
				got = append(got, s.Data)
				at = append(at, n)
			}})
			if err != nil {
				t.Fatal(err)
			}
			for ; ; n++ {
				if _, err := src.Next(); err != nil {
					break
				}
			}
			src.Close()
			if len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
				t.Fatalf("%s, block size %d: secrets %q, want %q", in, size, got, want)
			}
			if at[0] != 0 || at[1] > before {
				t.Errorf("%s, block size %d: passed on after %v packets, want 0 and at most %d", in, size, at, before)
			}
		}
	}
}

func TestSecretsCut(t *testing.T) {
	// A block cut by the end of the file is not passed on; the ones
	// before the cut are, and the file is truncated.
	data, want, _, ends := secretsFileEnds()
	for cut := 1; cut < len(data); cut++ {
		var got [][]byte
		src, err := openFiles([]string{"-"}, bytes.NewReader(data[:cut]), 64, Options{Secrets: func(s Secrets) { got = append(got, s.Data) }})
		opened := err == nil
		if opened {
			for err == nil {
				_, err = src.Next()
			}
			src.Close()
		}
		complete := 0
		for _, e := range ends {
			if e <= cut {
				complete++
			}
		}
		if len(got) > complete || (opened && len(got) != complete) {
			t.Fatalf("cut at %d: %d secrets blocks passed on, %d complete", cut, len(got), complete)
		}
		for i, g := range got {
			if !bytes.Equal(g, want[i]) {
				t.Fatalf("cut at %d: secrets %d = %q, want %q", cut, i, g, want[i])
			}
		}
		if err != io.EOF && !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: error %v", cut, err)
		}
	}
}

func TestSecretsTypeString(t *testing.T) {
	for _, c := range []struct {
		t    SecretsType
		want string
	}{
		{SecretsTLSKeyLog, "TLS key log"},
		{SecretsWireGuardKeyLog, "WireGuard key log"},
		{0x12345678, "0x12345678"},
	} {
		if got := c.t.String(); got != c.want {
			t.Errorf("%#x.String() = %q, want %q", uint32(c.t), got, c.want)
		}
	}
}
