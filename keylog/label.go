package keylog

// Label names the secret a key log line carries.
type Label uint8

// The labels a Store keeps. The order is the order of the secrets inside
// an entry and is not part of the API.
const (
	LabelUnknown Label = iota

	// TLS 1.3 (RFC 8446, Section 7.1; the names are NSS's).
	ClientHandshakeTrafficSecret // CLIENT_HANDSHAKE_TRAFFIC_SECRET
	ServerHandshakeTrafficSecret // SERVER_HANDSHAKE_TRAFFIC_SECRET
	ClientTrafficSecret0         // CLIENT_TRAFFIC_SECRET_0
	ServerTrafficSecret0         // SERVER_TRAFFIC_SECRET_0
	ClientEarlyTrafficSecret     // CLIENT_EARLY_TRAFFIC_SECRET
	ExporterSecret               // EXPORTER_SECRET

	// TLS 1.2 and older: the 48-byte master secret (RFC 5246, Section 8.1).
	ClientRandom // CLIENT_RANDOM

	numLabels
)

// NumLabels is one more than the largest Label, for arrays indexed by it.
const NumLabels = int(numLabels)

var labelNames = [numLabels]string{
	LabelUnknown:                 "unknown",
	ClientHandshakeTrafficSecret: "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	ServerHandshakeTrafficSecret: "SERVER_HANDSHAKE_TRAFFIC_SECRET",
	ClientTrafficSecret0:         "CLIENT_TRAFFIC_SECRET_0",
	ServerTrafficSecret0:         "SERVER_TRAFFIC_SECRET_0",
	ClientEarlyTrafficSecret:     "CLIENT_EARLY_TRAFFIC_SECRET",
	ExporterSecret:               "EXPORTER_SECRET",
	ClientRandom:                 "CLIENT_RANDOM",
}

// String returns the label as it is written in a key log.
func (l Label) String() string {
	if l < numLabels {
		return labelNames[l]
	}
	return "unknown"
}

// IsTLS13 reports whether l is one of the TLS 1.3 secrets.
func (l Label) IsTLS13() bool {
	return l >= ClientHandshakeTrafficSecret && l <= ExporterSecret
}

// lookupLabel maps a key log label to a Label without allocating.
func lookupLabel(b []byte) Label {
	for l := ClientHandshakeTrafficSecret; l < numLabels; l++ {
		if string(b) == labelNames[l] {
			return l
		}
	}
	return LabelUnknown
}

// validSecretLen reports whether n bytes is a plausible secret for l:
// TLS 1.3 secrets are the suite's hash length, 32 (SHA-256) or 48
// (SHA-384) (RFC 8446, Section 7.1 and Appendix B.4); the TLS 1.2 master
// secret is always 48 (RFC 5246, Section 8.1).
func validSecretLen(l Label, n int) bool {
	if l == ClientRandom {
		return n == 48
	}
	return n == 32 || n == 48
}
