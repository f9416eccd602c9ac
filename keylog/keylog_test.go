package keylog

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustHex32(t *testing.T, s string) [32]byte {
	t.Helper()
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad test hex %q", s)
	}
	copy(out[:], b)
	return out
}

// The label order used by the count tables below.
var tableLabels = [...]Label{
	ClientHandshakeTrafficSecret, ServerHandshakeTrafficSecret, ClientTrafficSecret0,
	ServerTrafficSecret0, ClientEarlyTrafficSecret, ExporterSecret, ClientRandom,
}

// TestCorpusCounts reads the real key logs in testdata. The expected counts
// were measured with `grep -c '^LABEL ' FILE` for each label (and RSA for
// unknown), `awk 'END{print NR}'` for lines; malformed counts by reading the
// files (rsasnakeoil2.key: 15 non-blank PEM lines, first on line 1).
func TestCorpusCounts(t *testing.T) {
	tests := []struct {
		file      string
		counts    [7]int64 // in tableLabels order
		unknown   int64
		malformed int64
		first     int64
		lines     int64
	}{
		{"clipper-sslkeylog.txt", [7]int64{1, 1, 1, 1, 0, 1, 0}, 0, 0, 0, 10},
		{"dhe1_keylog.dat", [7]int64{0, 0, 0, 0, 0, 0, 1}, 0, 0, 0, 2},
		{"http2-data-reassembly.keys", [7]int64{0, 0, 0, 0, 0, 0, 1}, 0, 0, 0, 1}, // no final LF
		{"illustrated-quic-keylog.txt", [7]int64{1, 1, 1, 1, 0, 1, 0}, 0, 0, 0, 5},
		{"illustrated-tls12-keylog.txt", [7]int64{0, 0, 0, 0, 0, 0, 1}, 0, 0, 0, 1},
		{"illustrated-tls13-keylog.txt", [7]int64{1, 1, 1, 1, 0, 1, 0}, 0, 0, 0, 5},
		{"mercury-sslkeylogfile.log", [7]int64{16, 16, 16, 16, 0, 16, 0}, 0, 0, 0, 80},
		{"rsasnakeoil2.key", [7]int64{}, 0, 15, 1, 19},
		{"tls12-chacha20poly1305.keys", [7]int64{0, 0, 0, 0, 0, 0, 7}, 1, 0, 0, 9},
		{"tls12-dsb-1.keys", [7]int64{0, 0, 0, 0, 0, 0, 1}, 0, 0, 0, 2},
		{"tls12-dsb-2.keys", [7]int64{0, 0, 0, 0, 0, 0, 1}, 0, 0, 0, 1},
		{"tls13-20-chacha20poly1305.keys", [7]int64{2, 2, 2, 2, 0, 0, 0}, 0, 0, 0, 9},
		{"tls13-rfc8446-noearly.keys", [7]int64{2, 2, 2, 2, 0, 0, 0}, 0, 0, 0, 8},
		{"tls13-rfc8446.keys", [7]int64{2, 2, 2, 2, 1, 0, 0}, 0, 0, 0, 9},
		{"wireshark-notes-all-premaster.txt", [7]int64{0, 0, 0, 0, 0, 0, 146}, 0, 0, 0, 219},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := NewStore(Options{})
			if _, err := s.ReadFrom(f); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			for i, l := range tableLabels {
				if st.Added[l] != tt.counts[i] {
					t.Errorf("%s: got %d lines, grep -c says %d", l, st.Added[l], tt.counts[i])
				}
			}
			if st.Unknown != tt.unknown || st.Malformed != tt.malformed || st.FirstMalformedLine != tt.first || st.Lines != tt.lines {
				t.Errorf("unknown %d malformed %d first %d lines %d, want %d %d %d %d",
					st.Unknown, st.Malformed, st.FirstMalformedLine, st.Lines, tt.unknown, tt.malformed, tt.first, tt.lines)
			}
			checkValues(t, s, filepath.Join("testdata", tt.file))
		})
	}
}

// checkValues re-reads the file with bufio and strings.Fields, an
// independent split, and checks every kept secret is what Lookup returns.
func checkValues(t *testing.T, s *Store, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[[32]byte]map[Label][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		var l Label
		for _, c := range tableLabels {
			if f[0] == c.String() {
				l = c
			}
		}
		if l == LabelUnknown {
			continue
		}
		cr := mustHex32(t, f[1])
		sec, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		if want[cr] == nil {
			want[cr] = map[Label][]byte{}
		}
		want[cr][l] = sec
	}
	if s.Len() != len(want) {
		t.Errorf("store holds %d client randoms, file has %d", s.Len(), len(want))
	}
	for cr, m := range want {
		got, ok := s.Lookup(cr)
		if !ok {
			t.Errorf("client random %x not found", cr)
			continue
		}
		if got.Count() != len(m) {
			t.Errorf("%x: %d secrets, want %d", cr, got.Count(), len(m))
		}
		for l, sec := range m {
			if g, ok := got.Get(l); !ok || !bytes.Equal(g, sec) {
				t.Errorf("%x %s = %x, want %x", cr, l, g, sec)
			}
		}
	}
}

func TestParseLine(t *testing.T) {
	cr := strings.Repeat("ab", 32)
	s32 := strings.Repeat("01", 32)
	s48 := strings.Repeat("02", 48)
	tests := []struct {
		name string
		line string
		ok   bool
		err  error
	}{
		{"tls13 sha256", "SERVER_HANDSHAKE_TRAFFIC_SECRET " + cr + " " + s32, true, nil},
		{"tls13 sha384", "CLIENT_TRAFFIC_SECRET_0 " + cr + " " + s48, true, nil},
		{"tls12 master", "CLIENT_RANDOM " + cr + " " + s48, true, nil},
		{"crlf", "EXPORTER_SECRET " + cr + " " + s32 + "\r", true, nil},
		{"upper hex", "CLIENT_RANDOM " + strings.ToUpper(cr) + " " + s48, true, nil},
		{"tabs and extra spaces", " CLIENT_RANDOM\t" + cr + "   " + s48 + " ", true, nil},
		{"blank", "", false, nil},
		{"spaces", "  \r", false, nil},
		{"comment", "# SSL/TLS secrets log file", false, nil},
		{"indented comment", "   # x y z", false, nil},
		{"unknown label", "EARLY_EXPORTER_SECRET " + cr + " " + s32, false, ErrUnknownLabel},
		{"rsa", "RSA 3e2ffbd86d10f694 " + s48, false, ErrUnknownLabel},
		{"master of 32", "CLIENT_RANDOM " + cr + " " + s32, false, ErrMalformed},
		{"secret of 40", "CLIENT_TRAFFIC_SECRET_0 " + cr + " " + strings.Repeat("03", 40), false, ErrMalformed},
		{"short random", "CLIENT_RANDOM " + cr[2:] + " " + s48, false, ErrMalformed},
		{"odd secret", "CLIENT_RANDOM " + cr + " " + s48 + "0", false, ErrMalformed},
		{"bad hex", "CLIENT_RANDOM " + "zz" + cr[2:] + " " + s48, false, ErrMalformed},
		{"bad hex secret", "CLIENT_RANDOM " + cr + " " + "g" + s48[1:], false, ErrMalformed},
		{"two fields", "CLIENT_RANDOM " + cr, false, ErrMalformed},
		{"four fields", "CLIENT_RANDOM " + cr + " " + s48 + " x", false, ErrMalformed},
		{"one field", "MIICWwIBAAKBgQCkblMUCt4s42BVmvJCpq9HEi8Xzvq63E5jVjS5unNLeEQ9xmxp", false, ErrMalformed},
		{"too long", "CLIENT_RANDOM " + cr + " " + s48 + strings.Repeat(" ", MaxLineLen), false, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok, err := ParseLine([]byte(tt.line))
			if ok != tt.ok || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("ok %v err %v, want %v %v", ok, err, tt.ok, tt.err)
			}
			if !ok {
				return
			}
			f := strings.Fields(tt.line)
			if e.Label.String() != f[0] || hex.EncodeToString(e.ClientRandom[:]) != strings.ToLower(f[1]) ||
				hex.EncodeToString(e.SecretBytes()) != strings.ToLower(f[2]) {
				t.Errorf("parsed %s %x %x from %q", e.Label, e.ClientRandom, e.SecretBytes(), tt.line)
			}
			if got, want := string(AppendLine(nil, &e)), strings.ToLower(strings.Join(f, " ")); !strings.EqualFold(got, want) {
				t.Errorf("AppendLine = %q, want %q", got, want)
			}
		})
	}
}

func TestParseLineAllocs(t *testing.T) {
	line := []byte("CLIENT_RANDOM " + strings.Repeat("ab", 32) + " " + strings.Repeat("02", 48))
	if n := testing.AllocsPerRun(100, func() { ParseLine(line) }); n != 0 {
		t.Errorf("ParseLine allocates %v times", n)
	}
}

// TestSplitting feeds the same text whole, byte by byte and in odd chunks,
// with CRLF, a long comment, a long garbage line and no final LF.
func TestSplitting(t *testing.T) {
	cr1 := strings.Repeat("11", 32)
	cr2 := strings.Repeat("22", 32)
	text := "# header\r\n" +
		"CLIENT_RANDOM " + cr1 + " " + strings.Repeat("aa", 48) + "\r\n" +
		"#" + strings.Repeat("c", 3*MaxLineLen) + "\n" +
		strings.Repeat("x", 2*MaxLineLen) + "\n" + // line 4: malformed, too long
		"\n" +
		"bogus line\n" + // line 6: malformed
		"SERVER_TRAFFIC_SECRET_0 " + cr2 + " " + strings.Repeat("bb", 32) // no LF
	for _, chunk := range []int{len(text), 1, 7, 193, MaxLineLen + 1} {
		s := NewStore(Options{})
		var sp splitter
		for i := 0; i < len(text); i += chunk {
			sp.write(s, []byte(text[i:min(i+chunk, len(text))]))
		}
		sp.end(s)
		st := s.Stats()
		if st.Lines != 7 || st.Malformed != 2 || st.FirstMalformedLine != 4 || st.Added[ClientRandom] != 1 || st.Added[ServerTrafficSecret0] != 1 {
			t.Errorf("chunk %d: stats %+v", chunk, st)
		}
		if sec, ok := s.Lookup(mustHex32(t, cr2)); !ok || !sec.Has(ServerTrafficSecret0) {
			t.Errorf("chunk %d: last line without LF not kept", chunk)
		}
	}
}

func TestStoreMergeAndEvict(t *testing.T) {
	s := NewStore(Options{MaxEntries: 2})
	mk := func(l Label, b byte, n int) *Entry {
		e := &Entry{Label: l, SecretLen: n}
		e.ClientRandom[0] = b
		for i := range n {
			e.Secret[i] = b + byte(l)
		}
		return e
	}
	s.Add(mk(ServerHandshakeTrafficSecret, 1, 32))
	before, _ := s.Lookup([32]byte{1})
	s.Add(mk(ServerTrafficSecret0, 1, 32))
	s.Add(mk(ClientHandshakeTrafficSecret, 1, 48))
	if before.Count() != 1 {
		t.Errorf("an earlier Secrets value changed: %d secrets", before.Count())
	}
	got, _ := s.Lookup([32]byte{1})
	for _, l := range []Label{ClientHandshakeTrafficSecret, ServerHandshakeTrafficSecret, ServerTrafficSecret0} {
		sec, ok := got.Get(l)
		want := mk(l, 1, len(sec))
		if !ok || !bytes.Equal(sec, want.SecretBytes()) {
			t.Errorf("%s = %x", l, sec)
		}
	}
	if sec, _ := got.Get(ClientHandshakeTrafficSecret); len(sec) != 48 {
		t.Errorf("48-byte secret kept as %d", len(sec))
	}
	s.Add(mk(ServerTrafficSecret0, 1, 32)) // replace
	s.Add(mk(ClientRandom, 2, 48))
	s.Add(mk(ClientRandom, 3, 48)) // evicts 1, the oldest
	if _, ok := s.Lookup([32]byte{1}); ok {
		t.Error("oldest not evicted")
	}
	s.Add(mk(ClientRandom, 4, 48)) // evicts 2
	_, ok2 := s.Lookup([32]byte{2})
	_, ok3 := s.Lookup([32]byte{3})
	_, ok4 := s.Lookup([32]byte{4})
	st := s.Stats()
	if ok2 || !ok3 || !ok4 || s.Len() != 2 || st.Evicted != 2 || st.Replaced != 1 {
		t.Errorf("after eviction: 2:%v 3:%v 4:%v len %d stats %+v", ok2, ok3, ok4, s.Len(), st)
	}
}
