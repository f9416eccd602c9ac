package flows

// flowKey names a flow in the front's table: the transport protocol and
// both endpoints, ordered so that both directions map to the same key. It
// is comparable, and holds TCP and UDP 5-tuples alike (IPv4 addresses in
// their IPv4-mapped IPv6 form).
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
	proto  uint8 // IP protocol number: 6 TCP, 17 UDP
}

// makeKey orders the two endpoints so that both directions have one key.
func makeKey(proto uint8, a, b [16]byte, pa, pb uint16) flowKey {
	if string(a[:]) > string(b[:]) || (a == b && pa > pb) {
		return flowKey{a: b, b: a, pa: pb, pb: pa, proto: proto}
	}
	return flowKey{a: a, b: b, pa: pa, pb: pb, proto: proto}
}

// shard is a symmetric hash of the key (FNV-1a), to pick a worker: both
// directions of a flow go to the same one.
func (k *flowKey) shard(n int) int {
	if n == 1 {
		return 0
	}
	h := uint32(2166136261)
	for _, b := range k.a {
		h = (h ^ uint32(b)) * 16777619
	}
	for _, b := range k.b {
		h = (h ^ uint32(b)) * 16777619
	}
	h = (h ^ uint32(k.pa)) * 16777619
	h = (h ^ uint32(k.pb)) * 16777619
	return int(h % uint32(n))
}
