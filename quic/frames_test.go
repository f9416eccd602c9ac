package quic

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func cryptoFrames(t *testing.T, payload []byte, mode FrameMode) ([]CryptoFrame, error) {
	t.Helper()
	var r FrameReader
	r.Reset(payload, mode)
	var out []CryptoFrame
	for {
		f, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
}

func TestFramesRFC(t *testing.T) {
	// RFC 9001, Appendix A.2: one CRYPTO frame at offset 0 of 0xf1 bytes,
	// then PADDING; A.3: an ACK, then CRYPTO at offset 0 of 0x5a bytes.
	client := append(unhex(t, v1ClientCrypto), make([]byte, 1162-245)...)
	for _, tt := range []struct {
		name    string
		payload []byte
		n       int
		first   byte // handshake message type the data starts with
	}{
		{"client initial", client, 0xf1, 0x01},
		{"server initial", unhex(t, v1ServerPayload), 0x5a, 0x02},
	} {
		fs, err := cryptoFrames(t, tt.payload, FramesHandshake)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(fs) != 1 || fs[0].Offset != 0 || len(fs[0].Data) != tt.n || fs[0].Data[0] != tt.first {
			t.Errorf("%s: frames %+v", tt.name, fs)
		}
	}
}

// TestFramesSkip puts one frame of every type of RFC 9000, Section 19 and
// RFC 9221 before a CRYPTO frame, each laid out as those sections draw it.
func TestFramesSkip(t *testing.T) {
	crypto := "06" + "4100" + "03" + "aabbcc" // offset 256 (2-byte varint), 3 bytes
	for _, tt := range []struct {
		name      string
		hex       string
		handshake bool // allowed in Initial and Handshake packets
	}{
		{"padding", "000000", true},
		{"ping", "01", true},
		{"ack", "02" + "4064" + "00" + "01" + "05" + "02" + "03", true},
		{"ack ecn", "03" + "10" + "00" + "00" + "00" + "01" + "02" + "80000003", true},
		{"reset stream", "04" + "04" + "00" + "4400", false},
		{"stop sending", "05" + "04" + "00", false},
		{"new token", "07" + "04" + "01020304", false},
		{"stream, no fields", "08" + "04" + "", false}, // runs to the end: must be last
		{"stream off len fin", "0f" + "04" + "4400" + "02" + "6869", false},
		{"stream len", "0a" + "00" + "01" + "ff", false},
		{"max data", "10" + "8000ffff", false},
		{"max stream data", "11" + "00" + "4400", false},
		{"max streams bidi", "12" + "24", false},
		{"max streams uni", "13" + "24", false},
		{"data blocked", "14" + "01", false},
		{"stream data blocked", "15" + "00" + "01", false},
		{"streams blocked bidi", "16" + "01", false},
		{"streams blocked uni", "17" + "01", false},
		{"new connection id", "18" + "01" + "00" + "08" + "0102030405060708" + "00112233445566778899aabbccddeeff", false},
		{"retire connection id", "19" + "01", false},
		{"path challenge", "1a" + "0102030405060708", false},
		{"path response", "1b" + "0102030405060708", false},
		{"connection close", "1c" + "0a" + "06" + "03" + "626164", true},
		{"connection close app", "1d" + "00" + "00", true},
		{"handshake done", "1e", false},
		{"datagram len", "31" + "02" + "abcd", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(t, tt.hex+crypto)
			want := 1
			if tt.name == "stream, no fields" {
				want = 0 // the STREAM frame swallows the CRYPTO bytes
			}
			fs, err := cryptoFrames(t, b, FramesAll)
			if err != nil || len(fs) != want {
				t.Fatalf("all: %d frames, %v", len(fs), err)
			}
			if want == 1 && (fs[0].Offset != 256 || !bytes.Equal(fs[0].Data, []byte{0xaa, 0xbb, 0xcc})) {
				t.Errorf("frame %+v", fs[0])
			}
			_, err = cryptoFrames(t, b, FramesHandshake)
			if tt.handshake && err != nil {
				t.Errorf("handshake: %v", err)
			}
			if !tt.handshake && (!errors.Is(err, ErrUnknownFrame) || Reason(err) != "quic_unknown_frame") {
				t.Errorf("handshake: %v, want ErrUnknownFrame", err)
			}
			// No proper prefix reads as the whole: each one is cut
			// short or gives fewer frames.
			for i := 1; i < len(b)-len(crypto)/2; i++ {
				fs, err := cryptoFrames(t, b[:i], FramesAll)
				if err == nil && len(fs) == want && want > 0 {
					t.Fatalf("prefix of %d bytes read as whole", i)
				}
			}
		})
	}
}

func TestFramesErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		hex  string
		want error
	}{
		{"unknown type", "2f", ErrUnknownFrame},
		{"ack frequency (not RFC 9000)", "40af" + "00", ErrUnknownFrame},
		{"crypto past 2^62", "06" + "ffffffffffffffff" + "02" + "0000", ErrMalformed},
		{"crypto cut short", "06" + "00" + "05" + "0102", io.ErrUnexpectedEOF},
		{"ack with too many ranges", "02" + "00" + "00" + "bfffffff" + "00", io.ErrUnexpectedEOF},
		// Found by review: a huge range count with the fields before the
		// ranges cut short once looped 2^31 times.
		{"ack range count, first range cut short", "02" + "00" + "00" + "bfffffff" + "ffffffff00", io.ErrUnexpectedEOF},
		{"new connection id of 0 bytes", "18" + "01" + "00" + "00", ErrMalformed},
	} {
		_, err := cryptoFrames(t, unhex(t, tt.hex), FramesAll)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestFramesConnectionClose(t *testing.T) {
	var r FrameReader
	// RFC 9000, Section 20.1: 0x0a is PROTOCOL_VIOLATION.
	r.Reset(unhex(t, "1c0a0603626164"), FramesHandshake)
	if _, err := r.Next(); err != io.EOF || !r.Close.Seen || r.Close.Code != 0x0a || r.Close.Application {
		t.Errorf("err %v close %+v", err, r.Close)
	}
}
