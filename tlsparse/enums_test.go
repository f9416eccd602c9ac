package tlsparse

import "testing"

func TestVersion(t *testing.T) {
	for _, tt := range []struct {
		v     Version
		s     string
		tls13 bool
	}{
		{VersionSSL20, "SSL 2.0", false},
		{VersionSSL30, "SSL 3.0", false},
		{VersionTLS10, "TLS 1.0", false},
		{VersionTLS11, "TLS 1.1", false},
		{0x0303, "TLS 1.2", false},
		{0x0304, "TLS 1.3", true},
		{0x7f17, "TLS 1.3 (draft 23)", true},
		{0x7f1c, "TLS 1.3 (draft 28)", true},
		{0x7e01, "TLS 1.3 (experiment 0x7e01)", true},
		{0xfb17, "TLS 1.3 (experiment 0xfb17)", true},
		{0x0305, "0x0305", false},
		{0x0a0a, "0x0a0a", false},          // GREASE (RFC 8701)
		{VersionDTLS10, "DTLS 1.0", false}, // RFC 6347, Section 4.1
		{0xfefd, "DTLS 1.2", false},
		{0xfefc, "DTLS 1.3", true}, // RFC 9147: TLS 1.3's rules
		{0xfefe, "0xfefe", false},  // never assigned (DTLS 1.1 was skipped)
		{0x0100, "0x0100", false},  // OpenSSL's pre-standard DTLS
		{0, "0x0000", false},
	} {
		if got := tt.v.String(); got != tt.s {
			t.Errorf("Version(%#04x).String() = %q, want %q", uint16(tt.v), got, tt.s)
		}
		if got := tt.v.IsTLS13(); got != tt.tls13 {
			t.Errorf("Version(%#04x).IsTLS13() = %v, want %v", uint16(tt.v), got, tt.tls13)
		}
	}
}

func TestCipherSuiteString(t *testing.T) {
	for _, tt := range []struct {
		c    CipherSuite
		want string
	}{
		{0x1301, "TLS_AES_128_GCM_SHA256"},
		{0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
		{0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
		{0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
		{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
		{0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
		{0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"}, // not in crypto/tls
		{0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
		{0x5600, "TLS_FALLBACK_SCSV"},
		{0x1304, "TLS_AES_128_CCM_SHA256"},
		{0x0a0a, "0x0a0a"}, // GREASE
		{0xabcd, "0xabcd"}, // lower-case hex, unlike crypto/tls's fallback
		{0xffff, "0xffff"},
	} {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("CipherSuite(%#04x).String() = %q, want %q", uint16(tt.c), got, tt.want)
		}
	}
}

func TestRecordTypeString(t *testing.T) {
	for _, tt := range []struct {
		r    RecordType
		want string
	}{
		{RecordChangeCipherSpec, "change_cipher_spec"},
		{RecordAlert, "alert"},
		{RecordHandshake, "handshake"},
		{RecordApplicationData, "application_data"},
		{RecordHeartbeat, "heartbeat"},
		{25, "record_type(25)"},
	} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("RecordType(%d).String() = %q, want %q", uint8(tt.r), got, tt.want)
		}
	}
}

func TestHandshakeTypeString(t *testing.T) {
	for _, tt := range []struct {
		h    HandshakeType
		want string
	}{
		{TypeClientHello, "client_hello"},
		{TypeServerHello, "server_hello"},
		{TypeNewSessionTicket, "new_session_ticket"},
		{TypeCertificate, "certificate"},
		{TypeServerKeyExchange, "server_key_exchange"},
		{TypeServerHelloDone, "server_hello_done"},
		{TypeClientKeyExchange, "client_key_exchange"},
		{TypeFinished, "finished"},
		{TypeMessageHash, "message_hash"},
		{99, "handshake_type(99)"},
	} {
		if got := tt.h.String(); got != tt.want {
			t.Errorf("HandshakeType(%d).String() = %q, want %q", uint8(tt.h), got, tt.want)
		}
	}
}

func TestExtensionAndEventNames(t *testing.T) {
	// Names from the IANA TLS ExtensionType Values registry.
	for _, tc := range []struct {
		got, want string
	}{
		{ExtServerName.String(), "server_name"}, {ExtPreSharedKey.String(), "pre_shared_key"},
		{ExtSessionTicket.String(), "session_ticket"}, {ExtensionType(65281).String(), "extension_65281"},
		{EventChangeCipherSpec.String(), "change_cipher_spec"}, {EventKind(99).String(), "EventKind(99)"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}
