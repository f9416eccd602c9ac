package quic

import (
	"encoding/hex"
	"testing"
)

var rfcDCID = []byte{0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08} // RFC 9001 and RFC 9369, Appendix A

// TestInitialKeys checks the keys of RFC 9001, Appendix A.1 and RFC 9369,
// Appendix A.1.
func TestInitialKeys(t *testing.T) {
	for _, tt := range []struct {
		v                Version
		ckey, civ, chp   string
		skey, siv, shp   string
		csecret, ssecret string
	}{
		{Version1,
			"1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2",
			"cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314",
			"c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
			"3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b"},
		{Version2,
			"8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9",
			"82db637861d55e1d011f19ea71d5d2a7", "dd13c276499c0249d3310652", "edf6d05c83121201b436e16877593c3a",
			"14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
			"0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1"},
	} {
		t.Run(tt.v.String(), func(t *testing.T) {
			c, s, err := InitialKeys(tt.v, rfcDCID)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name string
				got  []byte
				want string
			}{
				{"client secret", c.secret, tt.csecret}, {"client key", c.key, tt.ckey},
				{"client iv", c.iv, tt.civ}, {"client hp", c.hpKey, tt.chp},
				{"server secret", s.secret, tt.ssecret}, {"server key", s.key, tt.skey},
				{"server iv", s.iv, tt.siv}, {"server hp", s.hpKey, tt.shp},
			} {
				if hex.EncodeToString(f.got) != f.want {
					t.Errorf("%s = %x, want %s", f.name, f.got, f.want)
				}
			}
		})
	}
}

// TestChaChaKeys checks the keys and key update secret of RFC 9001,
// Appendix A.5 and RFC 9369, Appendix A.5.
func TestChaChaKeys(t *testing.T) {
	secret := unhex(t, "9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b")
	for _, tt := range []struct {
		v               Version
		key, iv, hp, ku string
	}{
		{Version1,
			"c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8", "e0459b3474bdd0e44a41c144",
			"25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4",
			"1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9"},
		{Version2,
			"3bfcddd72bcf02541d7fa0dd1f5f9eeea817e09a6963a0e6c7df0f9a1bab90f2", "a6b5bc6ab7dafce30ffff5dd",
			"d659760d2ba434a226fd37b35c69e2da8211d10c4f12538787d65645d5d1b8e2",
			"c69374c49e3d2a9466fa689e49d476db5d0dfbc87d32ceeaa6343fd0ae4c7d88"},
	} {
		t.Run(tt.v.String(), func(t *testing.T) {
			k, err := NewKeys(tt.v, TLS_CHACHA20_POLY1305_SHA256, secret)
			if err != nil {
				t.Fatal(err)
			}
			n, err := k.Next()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name string
				got  []byte
				want string
			}{{"key", k.key, tt.key}, {"iv", k.iv, tt.iv}, {"hp", k.hpKey, tt.hp}, {"ku", n.secret, tt.ku},
				{"hp after update", n.hpKey, tt.hp}} {
				if hex.EncodeToString(f.got) != f.want {
					t.Errorf("%s = %x, want %s", f.name, f.got, f.want)
				}
			}
		})
	}
}

func TestNewKeysRejects(t *testing.T) {
	if _, err := NewKeys(Version(0xff000016), TLS_AES_128_GCM_SHA256, make([]byte, 32)); err == nil {
		t.Error("draft-22 version accepted")
	}
	if _, err := NewKeys(Version1, Suite(0x1304), make([]byte, 32)); err == nil {
		t.Error("TLS_AES_128_CCM_SHA256 accepted")
	}
	if _, err := NewKeys(Version1, TLS_AES_256_GCM_SHA384, make([]byte, 32)); err == nil {
		t.Error("32-byte secret accepted for a SHA-384 suite")
	}
	k, err := NewKeys(Version1, TLS_AES_256_GCM_SHA384, make([]byte, 48))
	if err != nil {
		t.Fatal(err)
	}
	if len(k.key) != 32 || len(k.hpKey) != 32 {
		t.Errorf("AES-256 key %d bytes, hp %d bytes, want 32 and 32", len(k.key), len(k.hpKey))
	}
}
