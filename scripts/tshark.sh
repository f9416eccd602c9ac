#!/usr/bin/env bash
# Copied from the shared benchmark kit, /work/shared/bench/tshark.sh (2026-11-23), unchanged but for these two
# lines; scripts/bench.sh runs it as the yardstick.
# tshark.sh FILE: the yardstick. tshark answers the question the analyzer answers: for every TCP stream, its TLS
# handshake messages (ClientHello 1, ServerHello 2, NewSessionTicket 4) with the versions, the session IDs, SNI,
# the extension types and lengths in wire order (35 session_ticket, 41 pre_shared_key), the ticket a ClientHello
# offers (tshark 4.0 shows ClientHello extension 35 only as tls.handshake.extension.data, the one generic-data
# extension in these captures), the ticket a NewSessionTicket carries, and the PSK identity offered and the one
# selected. One line per frame that carries such a message, tab-separated, to stdout; several messages in one
# frame are joined with ','.
#
# Checked with tshark 4.0 (Debian 12). By default tshark runs its two-pass analysis with a read filter (-2 -R): on
# tshark 4.0 that was the faster way (0.63x the wall time of one pass on the 100 MB capture, same lines; -2 -R
# renumbers the frames it keeps). TSHARK_PASSES=1 runs one pass with a display filter (-Y) instead. TLS is found on
# any port: tshark's TLS-over-TCP heuristic is on by default, and -d also names the capture's second listener (8443).
set -euo pipefail
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
fi
filter='tls.handshake.type == 1 || tls.handshake.type == 2 || tls.handshake.type == 4'
if [[ ${TSHARK_PASSES:-2} == 2 ]]; then
	select=(-2 -R "$filter")
else
	select=(-Y "$filter")
fi
exec tshark -r "$1" -n "${select[@]}" -d tcp.port==8443,tls \
	-T fields -E header=y -E separator=/t -E occurrence=a -E aggregator=, \
	-e frame.number -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e tcp.dstport \
	-e tls.handshake.type -e tls.handshake.version -e tls.handshake.extensions.supported_version \
	-e tls.handshake.session_id -e tls.handshake.extensions_server_name \
	-e tls.handshake.extension.type -e tls.handshake.extension.len -e tls.handshake.extension.data \
	-e tls.handshake.session_ticket_length -e tls.handshake.session_ticket \
	-e tls.handshake.extensions.psk.identity.identity -e tls.handshake.extensions.psk.identity.selected
