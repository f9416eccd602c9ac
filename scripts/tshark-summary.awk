# Copied from the shared benchmark kit, /work/shared/bench/tshark-summary.awk (2026-11-23), unchanged but for
# these two lines; scripts/bench.sh reads its counts to check tlsresume on a capture without truth.
# tshark-summary.awk: resumption counts from tshark.sh's output, an independent check of a capture (and of the
# analyzer): bash tshark.sh FILE | awk -f tshark-summary.awk
# Per TCP stream, from its ClientHello and ServerHello:
#   TLS 1.3 (ServerHello supported_versions 0x0304): resumed when the ServerHello has pre_shared_key (41);
#     an offer is a ClientHello with pre_shared_key. The 32-byte legacy session ID echo is not a resumption.
#   TLS 1.2: resumed when the ServerHello echoes the ClientHello's non-empty session ID (RFC 5246 7.4.1.3, and
#     RFC 5077 3.4 for tickets); an offer is a non-empty session ID or a non-empty session_ticket extension (35).
BEGIN { FS = "\t" }
NR == 1 { next }
{
	s = $2; n = split($7, t, ",")
	for (i = 1; i <= n; i++) {
		if (t[i] == 1) { ch[s] = 1; chsid[s] = $10; chext[s] = "," $12 ","; chlen[s] = $13; chsv[s] = $9 }
		if (t[i] == 2) { sh[s] = 1; shsid[s] = $10; shext[s] = "," $12 ","; shsv[s] = $9 }
		if (t[i] == 4) nst[s]++
	}
}
END {
	for (s in sh) {
		if (!(s in ch)) { orphan++; continue }
		v13 = (shsv[s] == "0x0304")
		if (v13) {
			offered = index(chext[s], ",41,") > 0
			resumed = index(shext[s], ",41,") > 0
		} else {
			# ticket offered: extension 35 with a non-zero length, found by position in the type list
			nt = split(substr(chext[s], 2, length(chext[s]) - 2), et, ","); split(chlen[s], el, ",")
			tk = 0; for (i = 1; i <= nt; i++) if (et[i] == 35 && el[i] > 0) tk = 1
			offered = (chsid[s] != "" || tk)
			resumed = (shsid[s] != "" && shsid[s] == chsid[s])
			if (resumed) { if (tk) r12t++; else r12s++ }
		}
		conns++; ver[v13 ? "TLS1.3" : "TLS1.2"]++
		if (resumed) { res++; rver[v13 ? "TLS1.3" : "TLS1.2"]++ }
		if (offered && !resumed) rejected++
		if (v13 && !offered && chsid[s] != "") compat++
	}
	printf "TLS connections with ClientHello and ServerHello: %d; resumed %d (%.1f%%)\n", conns, res, 100 * res / conns
	for (v in ver) printf "  %s: %d, resumed %d\n", v, ver[v], rver[v]
	printf "  TLS1.2 resumed by session ID: %d, by ticket: %d\n", r12s, r12t
	printf "offers rejected (full handshake after an offer): %d\n", rejected
	printf "TLS1.3 full handshakes with a middlebox-compat session ID: %d\n", compat
	printf "ServerHello without ClientHello: %d\n", orphan + 0
}
