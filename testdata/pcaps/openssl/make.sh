#!/usr/bin/env bash
# make.sh: regenerate the OpenSSL loopback captures in this directory, with their truth.
#
# Usage (as root, Linux):   ./make.sh                  # every scenario
#                           ./make.sh tls13-psk ...    # only the named scenarios
#                           KEEP_WORK=1 ./make.sh      # keep the temp dir (keys, session files, full logs)
#
# Needs: bash, openssl (s_server, s_client, req, sess_id), tcpdump, tshark, iproute2 (ip, ss),
# util-linux (unshare, timeout from coreutils) and, for smtp-starttls only, python3 with the ssl module.
# On Debian 12: apt-get install -y openssl tcpdump tshark iproute2
#
# What it does. The whole script re-executes itself in a private network namespace
# (`unshare -n`): its own loopback, no other traffic, so no stray packets can enter a capture,
# and we may change the loopback MTU without touching the host. There lo is set to MTU 1280
# (the IPv6 minimum) with GSO limited to one segment, so packets look like wire packets (no 64 KB
# super-segments) and the server's first flight with the RSA 2048 certificate spans two TCP
# segments (TLS 1.3, and TLS 1.2 when the ServerHello carries a session ID; the TLS 1.2 flight
# with an empty session ID is 1211 bytes of TCP payload and just fits in one).
# Certificates are fresh self-signed ones (CN/SAN test.example) made in a temp dir per run.
#
# For each scenario X (one function scen_X below, one TCP port each):
#   tcpdump -Z root --immediate-mode -i lo -s 0 -U -w X.pcap 'tcp port P'
#     (--immediate-mode: without it, packets still in the kernel ring buffer when tcpdump gets
#      SIGINT are lost, and a capture shorter than a second comes out empty)
#   openssl s_server -accept P -cert rsa.crt -key rsa.key -www [flags]
#   printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect 127.0.0.1:P -servername test.example \
#       -ign_eof [-sess_in s.pem] [-sess_out s.pem] [flags]
#     (the client sends a GET, reads the -www reply and exits when the server closes, so a
#      TLS 1.3 client has received the NewSessionTickets before -sess_out is written)
#   ... more s_client runs, sometimes a restart of s_server (new ticket keys, empty cache) ...
#   kill -INT tcpdump; wait
# and writes
#   X.pcap          the capture (Ethernet link type, as tcpdump writes lo)
#   X.truth.tsv     one row per s_client run, in order:
#                   n client_port version reused method offered rejected
#                   - reused/version come from s_client's own "New, TLSv1.x" / "Reused, TLSv1.x" line
#                   - client_port comes from the capture (ClientHello source port of the n-th stream)
#                   - offered = -sess_in was given; method = what that session file held:
#                     psk for a TLS 1.3 session, ticket when `openssl sess_id -text` shows
#                     "TLS session ticket:", else session_id; empty when nothing was offered
#                   - rejected = offered and s_client says New
#   X.sclient.txt   each s_client command, a description of its -sess_in file, and the relevant
#                   lines of its output (New/Reused, Protocol, Session-ID, ticket lifetime hint)
# then cross-checks every row against the capture with tshark (TLS 1.2: Certificate in the
# server flight <=> full; TLS 1.3: pre_shared_key in ServerHello <=> resumed; the offer is
# visible in the ClientHello) and fails loudly on any mismatch.
#
# Regenerating makes different bytes (fresh keys, randoms, tickets, ports, times): the pcap, its
# truth file and its s_client log must always be regenerated and committed together.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ALL_SCENARIOS=(tls12-sessionid tls12-ticket tls13-psk tls12-rejected-restart tls13-rejected-restart ipv6 smtp-starttls)

if [[ -z ${TLSRESUME_IN_NETNS:-} ]]; then
	[[ $EUID -eq 0 ]] || { echo "make.sh: run as root (needs unshare -n and tcpdump)" >&2; exit 1; }
	exec env TLSRESUME_IN_NETNS=1 unshare -n -- "$BASH" "$0" "$@"
fi

# --- inside the private network namespace -------------------------------------------------
ip link set lo up mtu 1280
ip link set dev lo gso_max_size 1280 gso_max_segs 1

WORK=$(mktemp -d /tmp/tlsresume-openssl.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[[ -n ${KEEP_WORK:-} ]] && echo "work dir kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "make.sh: $*" >&2; exit 1; }

# Certificates: RSA 2048 (default) and ECDSA P-256 (ipv6 scenario).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/rsa.key" -out "$WORK/rsa.crt" -days 3650 \
	-subj /CN=test.example -addext subjectAltName=DNS:test.example 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ec.key" \
	-out "$WORK/ec.crt" -days 3650 -subj /CN=test.example -addext subjectAltName=DNS:test.example 2>/dev/null

OPENSSL_VERSION=$(openssl version)

# --- helpers ------------------------------------------------------------------------------
SCEN= PORT= HOST= TD_PID= SRV_PID= RUN=0

wait_listen() { # port
	local i
	for i in $(seq 100); do
		ss -Hltn "sport = :$1" | grep -q LISTEN && return 0
		sleep 0.05
	done
	die "nothing listens on port $1"
}

begin() { # scenario port host
	SCEN=$1 PORT=$2 HOST=$3 RUN=0
	echo "== $SCEN (port $PORT, $HOST)" >&2
	rm -f "$HERE/$SCEN.pcap" "$HERE/$SCEN.truth.tsv" "$HERE/$SCEN.sclient.txt"
	: >"$WORK/$SCEN.rows"
	{
		echo "# $SCEN: s_client runs in order; generated by make.sh (scen_${SCEN//-/_})"
		echo "# $OPENSSL_VERSION; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$HERE/$SCEN.sclient.txt"
	tcpdump -Z root --immediate-mode -i lo -s 0 -U -w "$HERE/$SCEN.pcap" "tcp port $PORT" 2>"$WORK/$SCEN.tcpdump" &
	TD_PID=$!
	PIDS+=("$TD_PID")
	local i
	for i in $(seq 100); do
		grep -q 'listening on' "$WORK/$SCEN.tcpdump" && return 0
		sleep 0.05
	done
	die "tcpdump did not start: $(cat "$WORK/$SCEN.tcpdump")"
}

server_start() { # cert-kind(rsa|ec) s_server flags...
	local kind=$1; shift
	local accept=$PORT
	[[ $HOST == *:* ]] && accept="[$HOST]:$PORT"
	echo "# s_server: openssl s_server -accept $accept -cert $kind.crt -key $kind.key -www $*" >>"$HERE/$SCEN.sclient.txt"
	openssl s_server -accept "$accept" -cert "$WORK/$kind.crt" -key "$WORK/$kind.key" -www "$@" \
		>>"$WORK/$SCEN.server.log" 2>&1 </dev/null &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	wait_listen "$PORT"
}

server_stop() { # [note]
	kill "$SRV_PID"
	wait "$SRV_PID" 2>/dev/null || true
	echo "# server stopped${1:+ ($1)}" >>"$HERE/$SCEN.sclient.txt"
}

describe_sess() { # file
	local t proto sid tkt
	t=$(openssl sess_id -in "$1" -noout -text)
	proto=$(awk '$1=="Protocol"{print $3; exit}' <<<"$t")
	sid=$(awk '$1=="Session-ID:"{print $2; exit}' <<<"$t")
	if grep -q 'TLS session ticket:' <<<"$t"; then tkt=yes; else tkt=no; fi
	echo "$proto $tkt ${sid:-none}"
}

# client: run s_client once (GET over -www, or -input), log it, record its truth row.
#   client [-in FILE] [-out FILE] [-input STRING] [extra s_client flags...]
client() {
	local sin= sout= input=$'GET / HTTP/1.0\r\n\r\n'
	while [[ $# -gt 0 ]]; do
		case $1 in
		-in) sin=$2; shift 2 ;;
		-out) sout=$2; shift 2 ;;
		-input) input=$2; shift 2 ;;
		*) break ;;
		esac
	done
	RUN=$((RUN + 1))
	local connect=$HOST:$PORT
	[[ $HOST == *:* ]] && connect="[$HOST]:$PORT"
	local args=(-connect "$connect" -servername test.example -ign_eof)
	[[ -n $sin ]] && args+=(-sess_in "$WORK/$sin")
	[[ -n $sout ]] && args+=(-sess_out "$WORK/$sout")
	args+=("$@")
	local out="$WORK/$SCEN.$RUN.out"
	local shown="openssl s_client ${args[*]}"
	shown=${shown//$WORK\//}
	{
		echo
		echo "## run $RUN: $(printf '%q' "$input") | $shown"
	} >>"$HERE/$SCEN.sclient.txt"

	local offered=false method= proto tkt sid
	if [[ -n $sin ]]; then
		[[ -s $WORK/$sin ]] || die "$SCEN run $RUN: session file $sin was never written"
		offered=true
		read -r proto tkt sid < <(describe_sess "$WORK/$sin")
		if [[ $proto == TLSv1.3 ]]; then method=psk
		elif [[ $tkt == yes ]]; then method=ticket
		else method=session_id; fi
		echo "# sess_in $sin: Protocol $proto, Session-ID $sid, TLS session ticket: $tkt => offers $method" \
			>>"$HERE/$SCEN.sclient.txt"
	fi

	printf '%s' "$input" | timeout 30 openssl s_client "${args[@]}" >"$out" 2>&1 ||
		die "s_client run $RUN of $SCEN failed: $(tail -5 "$out")"
	grep -E '^(New|Reused), |^ *Protocol *:|^ *Session-ID:|TLS session ticket lifetime hint|Post-Handshake New Session Ticket arrived' \
		"$out" >>"$HERE/$SCEN.sclient.txt" || true
	if [[ -n $sout && -s $WORK/$sout ]]; then
		read -r proto tkt sid < <(describe_sess "$WORK/$sout")
		echo "# sess_out $sout: Protocol $proto, Session-ID $sid, TLS session ticket: $tkt" >>"$HERE/$SCEN.sclient.txt"
	elif [[ -n $sout ]]; then
		# s_client writes -sess_out from its new-session callback: nothing new, nothing written.
		echo "# sess_out $sout: not written (no new session or ticket on this connection)" >>"$HERE/$SCEN.sclient.txt"
	fi

	local line status version reused rejected=false
	line=$(grep -m1 -E '^(New|Reused), TLSv1\.[0-3], ' "$out") || die "run $RUN of $SCEN: no New/Reused line"
	status=${line%%,*}
	version=$(sed -E 's/^[A-Za-z]+, TLSv1\.([0-3]),.*/TLS 1.\1/' <<<"$line")
	if [[ $status == Reused ]]; then reused=true; else reused=false; fi
	[[ $offered == true && $reused == false ]] && rejected=true
	[[ $offered == false && $reused == true ]] && die "run $RUN of $SCEN: reused without an offer?"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$RUN" "$version" "$reused" "$method" "$offered" "$rejected" >>"$WORK/$SCEN.rows"
}

# end: stop tcpdump, join the rows with the client ports seen in the capture, cross-check.
end() {
	sleep 0.3
	kill -INT "$TD_PID"
	wait "$TD_PID" || true
	local pcap="$HERE/$SCEN.pcap"

	local stray
	stray=$(tshark -r "$pcap" -Y "!(tcp.port==$PORT)" 2>/dev/null | wc -l)
	[[ $stray -eq 0 ]] || die "$SCEN: $stray packets not on port $PORT"

	# One ClientHello per stream expected (no HelloRetryRequest in these scenarios).
	tshark -r "$pcap" -Y 'tls.handshake.type==1' -T fields -e tcp.stream -e tcp.srcport 2>/dev/null |
		awk '!seen[$1]++ {print $2}' >"$WORK/$SCEN.ports"
	local nrows nports
	nrows=$(wc -l <"$WORK/$SCEN.rows")
	nports=$(wc -l <"$WORK/$SCEN.ports")
	[[ $nrows -eq $nports ]] || die "$SCEN: $nrows s_client runs but $nports ClientHellos"

	{
		printf 'n\tclient_port\tversion\treused\tmethod\toffered\trejected\n'
		paste "$WORK/$SCEN.ports" "$WORK/$SCEN.rows" | awk -F'\t' -v OFS='\t' '{print $2, $1, $3, $4, $5, $6, $7}'
	} >"$HERE/$SCEN.truth.tsv"

	crosscheck "$pcap" "$HERE/$SCEN.truth.tsv"

	local size
	size=$(stat -c %s "$pcap")
	[[ $size -lt 100000 ]] || die "$SCEN: pcap is $size bytes"
	awk -F'\t' -v s="$SCEN" -v size="$size" 'NR>1 {n++; if ($4=="true") r[$5]++; else f++; if ($7=="true") rej++}
		END {printf "%s: %d conns, %d full, resumed session_id=%d ticket=%d psk=%d, rejected %d; %d bytes\n",
			s, n, f, r["session_id"], r["ticket"], r["psk"], rej, size}' "$HERE/$SCEN.truth.tsv" >&2
}

# crosscheck pcap truth: per TCP stream, what the handshake shows on the wire vs the truth row.
crosscheck() {
	tshark -r "$1" -Y tls.handshake -T fields -E separator='|' -E aggregator=',' -E occurrence=a \
		-e tcp.stream -e tcp.srcport -e tcp.dstport -e tls.handshake.type -e tls.handshake.session_id \
		-e tls.handshake.extension.type -e tls.handshake.extension.len \
		-e tls.handshake.extensions.supported_version -e tls.handshake.extensions.psk.identity.selected \
		-e tls.handshake.extensions.psk.identity.identity_length 2>/dev/null |
	awk -F'|' -v port="$PORT" -v truth="$2" -v scen="$SCEN" '
	function has(list, x,   a, n, i) { n = split(list, a, ","); for (i = 1; i <= n; i++) if (a[i] == x) return 1; return 0 }
	{
		s = $1 + 0
		if (!(s in order)) { order[s] = ++ns; stream[ns] = s }
		if ($3 == port) {                      # client -> server
			if (has($4, "1") && !(s in chsid)) {
				chsid[s] = $5
				n = split($6, t, ","); split($7, l, ",")
				for (i = 1; i <= n; i++) if (t[i] == 35 && l[i] > 0) chtkt[s] = 1
				if ($10 != "") chpsk[s] = 1
			}
		} else {                               # server -> client
			if (has($4, "2") && !(s in shsid)) {
				shsid[s] = $5
				shver[s] = ($8 != "") ? $8 : "0x0303"
				if ($9 != "") shpsk[s] = 1
			}
			if (has($4, "11")) cert[s] = 1
			if (has($4, "4")) nst[s] = 1
		}
	}
	END {
		while ((getline line < truth) > 0) {
			if (line ~ /^n\t/) continue
			split(line, f, "\t"); rows++
			row[f[1]] = line; v[f[1]] = f[3]; reused[f[1]] = f[4]; method[f[1]] = f[5]; offered[f[1]] = f[6]
		}
		bad = 0
		for (k = 1; k <= ns; k++) {
			s = stream[k]
			ver = (shver[s] == "0x0304") ? "TLS 1.3" : "TLS 1.2"
			if (ver != v[k]) { print scen " run " k ": version on wire " ver " vs " v[k]; bad++ }
			if (ver == "TLS 1.3") {
				w = (s in shpsk) ? "true" : "false"
				o = (s in chpsk) ? "psk" : ""
				echo = ""
			} else {
				w = (s in cert) ? "false" : "true"
				# a session ID the client offers counts only when a server in this capture assigned it
				# before this connection; tickets are seen in the ClientHello extension.
				o = (s in chtkt) ? "ticket" : ((chsid[s] != "" && (chsid[s] in seenbefore)) ? "session_id" : "")
				echo = (chsid[s] != "" && chsid[s] == shsid[s]) ? "echo" : "no-echo"
			}
			if (w != reused[k]) { print scen " run " k ": wire says reused=" w ", s_client says " reused[k]; bad++ }
			if (o != method[k]) { print scen " run " k ": wire offer \"" o "\" vs truth \"" method[k] "\""; bad++ }
			printf "  %s run %d: stream %d %s reused=%s offer=%s %s%s\n", scen, k, s, ver, w, (o == "" ? "-" : o), \
				(echo == "" ? "" : "sid-" echo), ((s in nst) ? " +NewSessionTicket(clear)" : "") > "/dev/stderr"
			if (shsid[s] != "") seenbefore[shsid[s]] = 1
		}
		if (rows != ns) { print scen ": " rows " truth rows, " ns " TLS streams"; bad++ }
		exit bad ? 1 : 0
	}' || die "$SCEN: capture and truth disagree"
}

# --- scenarios ----------------------------------------------------------------------------

# 1. TLS 1.2, no tickets on either side: full, then two resumptions by session ID.
scen_tls12_sessionid() {
	begin tls12-sessionid 44311 127.0.0.1
	server_start rsa -tls1_2 -no_ticket
	client -out s1.pem -tls1_2 -no_ticket
	client -in s1.pem -tls1_2 -no_ticket
	client -in s1.pem -tls1_2 -no_ticket
	server_stop
	end
}

# 2. TLS 1.2 with tickets: full, then two resumptions with the ticket of the first connection.
#    (OpenSSL 3.0 does not renew the ticket on resumption, so -sess_out s2.pem stays unwritten.)
scen_tls12_ticket() {
	begin tls12-ticket 44312 127.0.0.1
	server_start rsa -tls1_2
	client -out s1.pem -tls1_2
	client -in s1.pem -out s2.pem -tls1_2
	client -in s1.pem -tls1_2
	server_stop
	end
}

# 3. TLS 1.3: full, two PSK resumptions offering the same ticket (same identity on the wire),
#    one with the ticket received in the first resumption.
scen_tls13_psk() {
	begin tls13-psk 44313 127.0.0.1
	server_start rsa -tls1_3
	client -out s1.pem -tls1_3
	client -in s1.pem -out s2.pem -tls1_3
	client -in s1.pem -tls1_3
	client -in s2.pem -tls1_3
	server_stop
	end
}

# 4. TLS 1.2: one session with a ticket, one by session ID (client -no_ticket), then s_server
#    restarts (new ticket keys, empty cache) and both are offered: both rejected (full handshakes).
scen_tls12_rejected_restart() {
	begin tls12-rejected-restart 44314 127.0.0.1
	server_start rsa -tls1_2
	client -out t.pem -tls1_2
	client -out i.pem -tls1_2 -no_ticket
	server_stop "restart: the new s_server has new ticket keys and an empty session cache"
	server_start rsa -tls1_2
	client -in t.pem -tls1_2
	client -in i.pem -tls1_2 -no_ticket
	server_stop
	end
}

# 5. TLS 1.3: full, a PSK resumption, then s_server restarts and the first ticket is offered again:
#    rejected (full handshake).
scen_tls13_rejected_restart() {
	begin tls13-rejected-restart 44315 127.0.0.1
	server_start rsa -tls1_3
	client -out s1.pem -tls1_3
	client -in s1.pem -tls1_3
	server_stop "restart: the new s_server has new ticket keys and an empty session cache"
	server_start rsa -tls1_3
	client -in s1.pem -tls1_3
	server_stop
	end
}

# 6. IPv6 (::1), ECDSA P-256 certificate: TLS 1.3 full + PSK resumption, then TLS 1.2 full +
#    ticket resumption, all against one s_server.
scen_ipv6() {
	begin ipv6 44316 ::1
	server_start ec
	client -out a.pem -tls1_3
	client -in a.pem -tls1_3
	client -out b.pem -tls1_2
	client -in b.pem -tls1_2
	server_stop
	end
}

# 7. SMTP STARTTLS: s_server has no STARTTLS, so fake_smtp.py (Python's ssl module, i.e. the
#    same OpenSSL library) plays the server: 220 greeting, EHLO, STARTTLS, then TLS; over TLS it
#    answers QUIT with 221 and closes. s_client -starttls smtp: TLS 1.3 full + PSK resumption,
#    TLS 1.2 full + ticket resumption.
scen_smtp_starttls() {
	begin smtp-starttls 44317 127.0.0.1
	echo "# server: python3 fake_smtp.py 127.0.0.1 $PORT rsa.crt rsa.key" >>"$HERE/$SCEN.sclient.txt"
	python3 "$HERE/fake_smtp.py" 127.0.0.1 "$PORT" "$WORK/rsa.crt" "$WORK/rsa.key" >>"$WORK/$SCEN.server.log" 2>&1 &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	wait_listen "$PORT"
	client -input $'QUIT\r\n' -out a.pem -starttls smtp -tls1_3
	client -input $'QUIT\r\n' -in a.pem -starttls smtp -tls1_3
	client -input $'QUIT\r\n' -out b.pem -starttls smtp -tls1_2
	client -input $'QUIT\r\n' -in b.pem -starttls smtp -tls1_2
	server_stop
	end
}

# --- main ---------------------------------------------------------------------------------
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=("${ALL_SCENARIOS[@]}")
for s in "${SCENARIOS[@]}"; do
	declare -F "scen_${s//-/_}" >/dev/null || die "unknown scenario $s (known: ${ALL_SCENARIOS[*]})"
	"scen_${s//-/_}"
done
