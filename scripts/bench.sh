#!/usr/bin/env bash
# bench.sh: how fast tlsresume reads a large capture, against the floor and tshark, and whether its counts are right.
#
# usage: scripts/bench.sh [--size MB] [--seed N] [--workers N] [--runs N] [--no-tshark] [--no-gz] [--keep] [FILE]
#
# Without FILE it generates a capture of about --size MB (default 1000) with `tlsgen --bench --seed N` (default 1)
# into /tmp/tlsresume-bench/, with its truth beside it, and removes both at the end unless --keep; a kept capture of
# the same size and seed is used again. With FILE it measures that capture (pcap or pcapng), which it never removes.
# It builds tlsresume, tlsgen and the floor program (scripts/floor: a bare pcapgo read loop) from this checkout into a
# temporary directory, then prints one table:
#   - tlsresume -r FILE (with --workers N if given): median wall time of --runs runs (default 3) after a warm-up
#     run, their spread, the peak resident memory, packets/s and MB/s (MB = 10^6 bytes of file) at the median;
#   - floor FILE and floor -decode FILE the same way, and the ratio tlsresume / floor;
#   - cat FILE > /dev/null the same way: the page cache's floor under the read floor, and the ratio floor / cat;
#   - unless --no-gz, a .pcap.gz row: FILE compressed once with gzip -1 beside it (removed at the end unless
#     --keep), tlsresume -r FILE.gz against its own floor, floor -gz (decompression alone), and a check that
#     tlsresume counts the same on FILE.gz as on FILE;
#   - tshark (scripts/tshark.sh, the same question) once, as a ratio to tlsresume, when tshark is installed;
#   - the load average before each command's runs (other work on the machine shows there);
#   - a check: tlsresume's tls_connections, resumed, by_method and rejected against the generator's truth (a
#     generated capture, or FILE's sibling .tsv), and against tshark's counts (scripts/tshark-summary.awk).
# On a tlsgen capture the truth decides, and tshark's counts are shown for information: tshark 4.0 does not
# reassemble a ClientHello whose first segment is captured out of order (tlsgen --bench reorders a few segments), and
# tshark-summary.awk takes the random 32-byte session ID that Go's TLS 1.2 client always sends for an offer, so every
# TLS 1.2 full handshake of a Go client counts as a rejected offer there. Without truth, tshark's counts decide.
# Exit status: 0 when every check that ran agreed, 1 when one did not or a step failed, 2 on a usage error.
# Needs go, awk; /usr/bin/time (Debian package 'time') for peak memory, else it polls /proc; tshark is optional.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(dirname "$(dirname "$SELF")")
OUTDIR=${TLSRESUME_BENCH_DIR:-/tmp/tlsresume-bench}
SIZE=1000 SEED=1 WORKERS= RUNS=3 KEEP=0 TSHARK=1 GZ=1 FILE=

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { printf 'bench.sh: %s\n' "$*" >&2; exit 1; }
bad() { printf 'bench.sh: %s\n' "$*" >&2; exit 2; }
num() { [[ $2 =~ ^[0-9]+$ && $2 -ge 1 ]] || bad "$1 takes a whole number, at least 1: '$2'"; }

while (($#)); do
	case $1 in
	--size) (($# > 1)) || bad "--size needs a value"; num --size "$2"; SIZE=$2; shift ;;
	--seed) (($# > 1)) || bad "--seed needs a value"; [[ $2 =~ ^-?[0-9]+$ ]] || bad "--seed takes a number"; SEED=$2; shift ;;
	--workers) (($# > 1)) || bad "--workers needs a value"; num --workers "$2"; WORKERS=$2; shift ;;
	--runs) (($# > 1)) || bad "--runs needs a value"; num --runs "$2"; RUNS=$2; shift ;;
	--keep) KEEP=1 ;;
	--no-tshark) TSHARK=0 ;;
	--no-gz) GZ=0 ;;
	-h | --help) usage; exit 0 ;;
	-*) usage >&2; exit 2 ;;
	*) [[ -z $FILE ]] || bad "one FILE at most"; FILE=$1 ;;
	esac
	shift
done
command -v go >/dev/null || die "needs go"

TMP=$(mktemp -d /tmp/tlsresume-bench-bin.XXXXXX)
GENERATED=()
cleanup() {
	rm -rf "$TMP"
	((KEEP)) || { ((${#GENERATED[@]} == 0)) || rm -f "${GENERATED[@]}"; }
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START=$SECONDS
log() { printf 'bench.sh: [%ds] %s\n' "$((SECONDS - START))" "$*" >&2; }
load() { cut -d' ' -f1 /proc/loadavg; }

log "building tlsresume, tlsgen and floor into $TMP"
(cd "$ROOT" && go build -trimpath -o "$TMP/tlsresume" ./cmd/tlsresume && go build -trimpath -o "$TMP/tlsgen" ./cmd/tlsgen &&
	go build -trimpath -o "$TMP/floor" ./scripts/floor) || die "build failed"
VERSION=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)

# --- the capture -----------------------------------------------------------------------------------------------------
TRUTH= GENLINE=
if [[ -z $FILE ]]; then
	mkdir -p "$OUTDIR"
	FILE=$OUTDIR/bench-${SIZE}MB-seed$SEED.pcap
	TRUTH=${FILE%.pcap}.tsv
	if [[ -s $FILE && -s $TRUTH ]]; then
		log "using the capture kept from an earlier run: $FILE"
		GENLINE="kept from an earlier run"
	else
		avail=$(df -Pk "$OUTDIR" | awk 'NR == 2 { print int($4 / 1000) }')
		((avail > SIZE * 11 / 10 + 100)) || die "$OUTDIR has $avail MB free, the capture needs about $SIZE MB"
		GENERATED=("$FILE" "$TRUTH" "$FILE.partial" "$TRUTH.partial")
		log "generating $FILE (about $SIZE MB, seed $SEED; load $(load))"
		gen=("$TMP/tlsgen" --bench --size "$SIZE" --seed "$SEED" -o "$FILE.partial" --truth "$TRUTH.partial")
		[[ -x /usr/bin/time ]] && gen=(/usr/bin/time -o "$TMP/tlsgen.rss" -f '%M' "${gen[@]}")
		t0=$(date +%s%N)
		"${gen[@]}" 2>"$TMP/tlsgen.err" || die "tlsgen failed: $(cat "$TMP/tlsgen.err")"
		t1=$(date +%s%N)
		mv "$FILE.partial" "$FILE"
		mv "$TRUTH.partial" "$TRUTH"
		peak=
		[[ -s $TMP/tlsgen.rss ]] && peak=$(awk '{ printf ", peak %.0f MiB", $1 / 1024 }' "$TMP/tlsgen.rss")
		GENLINE=$(awk -v s="$(((t1 - t0) / 1000000))" -v peak="$peak" -v l="$(load)" '{ sub(/^tlsgen: bench: /, "") }
			END { printf "generated in %.1f s%s, load %s at the end: %s", s / 1000, peak, l, $0 }' "$TMP/tlsgen.err")
	fi
else
	[[ -r $FILE ]] || die "cannot read $FILE"
	[[ -s ${FILE%.*}.tsv ]] && head -c 8 "${FILE%.*}.tsv" | grep -q '^id.flow' && TRUTH=${FILE%.*}.tsv
fi
BYTES=$(stat -c %s "$FILE")
PACKETS=$("$TMP/floor" "$FILE" | awk '{ print $2 }') || die "floor cannot read $FILE"

# --- measuring ---------------------------------------------------------------------------------------------------------
TIMEBIN=
[[ -x /usr/bin/time ]] && TIMEBIN=/usr/bin/time
# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print ((NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# run1 OUT COMMAND...: one run, stdout to OUT; prints "wall_us peak_KiB" (peak prefixed by ~ when polled from /proc)
run1() {
	local out=$1 t0 t1 peak
	shift
	t0=$(date +%s%N)
	if [[ -n $TIMEBIN ]]; then
		"$TIMEBIN" -o "$TMP/rss" -f '%M' "$@" >"$out" 2>>"$TMP/stderr" || { echo "exit $?" >>"$TMP/stderr"; return 1; }
		t1=$(date +%s%N)
		peak=$(tail -1 "$TMP/rss")
	else
		# No /usr/bin/time: poll the process's VmHWM (peak RSS so far) until it exits.
		"$@" >"$out" 2>>"$TMP/stderr" &
		local pid=$! hwm=0 v
		while [[ -e /proc/$pid/status ]]; do
			v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
			[[ -n $v && $v -gt $hwm ]] && hwm=$v
			sleep 0.02
		done
		wait "$pid" || { echo "exit $?" >>"$TMP/stderr"; return 1; }
		t1=$(date +%s%N)
		peak="~$hwm"
	fi
	echo "$(((t1 - t0) / 1000)) $peak"
}

# measure LABEL WARM N OUT COMMAND...: WARM warm-up runs (0 or 1), then N runs; the stdout of the first run is kept
# in OUT. One table row per command goes to $TMP/rows, the median wall time to $TMP/wall.LABEL.
measure() {
	local label=$1 warm=$2 n=$3 out=$4 i l
	shift 4
	l=$(load)
	: >"$TMP/stderr"
	if ((warm)); then
		run1 "$out" "$@" >/dev/null || die "$label failed: $(tail -3 "$TMP/stderr")"
		out=/dev/null
	fi
	: >"$TMP/runs"
	for ((i = 0; i < n; i++)); do
		run1 "$out" "$@" >>"$TMP/runs" || die "$label failed: $(tail -3 "$TMP/stderr")"
		out=/dev/null
	done
	local w lo hi mem approx=
	w=$(awk '{ print $1 / 1e6 }' "$TMP/runs" | median)
	lo=$(awk '{ print $1 / 1e6 }' "$TMP/runs" | sort -g | head -1)
	hi=$(awk '{ print $1 / 1e6 }' "$TMP/runs" | sort -g | tail -1)
	grep -q '~' "$TMP/runs" && approx="~"
	mem=$(awk '{ sub(/^~/, "", $2); print $2 / 1024 }' "$TMP/runs" | median)
	echo "$w" >"$TMP/wall.$label"
	awk -v label="$label" -v n="$n" -v w="$w" -v lo="$lo" -v hi="$hi" -v mem="$mem" -v approx="$approx" \
		-v load="$l" -v pk="$PACKETS" -v by="$BYTES" 'BEGIN {
		printf "%s\t%d\t%.3f\t%s\t%s%.1f\t%.0f\t%.1f\t%s\n", label, n, w, (n > 1 ? sprintf("%.3f-%.3f", lo, hi) : "-"),
			approx, mem, (w > 0 ? pk / w : 0), (w > 0 ? by / 1e6 / w : 0), load }' >>"$TMP/rows"
}

: >"$TMP/rows"
TLSRESUME=("$TMP/tlsresume")
[[ -n $WORKERS ]] && TLSRESUME+=(--workers "$WORKERS")
log "timing tlsresume (1 warm-up + $RUNS runs; load $(load))"
measure tlsresume 1 "$RUNS" "$TMP/tlsresume.out" "${TLSRESUME[@]}" -r "$FILE"
log "timing floor and floor -decode"
measure floor 1 "$RUNS" /dev/null "$TMP/floor" "$FILE"
measure floor-decode 1 "$RUNS" /dev/null "$TMP/floor" -decode "$FILE"
log "timing cat"
measure cat 1 "$RUNS" /dev/null cat "$FILE"
HAVE_GZ=0
if ((GZ)); then
	GZFILE=$FILE.gz
	if [[ ! -s $GZFILE ]]; then
		command -v gzip >/dev/null || die "needs gzip for the .pcap.gz row (or --no-gz)"
		log "compressing $FILE with gzip -1 (load $(load))"
		gzip -1 -c "$FILE" >"$GZFILE.partial" || die "gzip failed"
		mv "$GZFILE.partial" "$GZFILE"
		GENERATED+=("$GZFILE")
	fi
	GZBYTES=$(stat -c %s "$GZFILE")
	log "timing tlsresume and floor -gz on $GZFILE"
	measure tlsresume-gz 1 "$RUNS" "$TMP/tlsresume-gz.out" "${TLSRESUME[@]}" -r "$GZFILE"
	measure floor-gz 1 "$RUNS" /dev/null "$TMP/floor" -gz "$GZFILE"
	HAVE_GZ=1
fi
HAVE_TSHARK=0
if ((TSHARK)) && command -v tshark >/dev/null; then
	# One run, no warm-up (the file is in the page cache by now): it takes 50 times as long.
	log "timing tshark (1 run; load $(load))"
	measure tshark 0 1 "$TMP/tshark.out" bash "$ROOT/scripts/tshark.sh" "$FILE"
	HAVE_TSHARK=1
fi

# --- the table -----------------------------------------------------------------------------------------------------
wall() { cat "$TMP/wall.$1"; }
ratio() { awk -v a="$(wall "$1")" -v b="$(wall "$2")" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }'; }
printf '# %s: %.1f MB, %d packets\n' "$FILE" "$(awk -v b="$BYTES" 'BEGIN { print b / 1e6 }')" "$PACKETS"
[[ -n $GENLINE ]] && printf '# tlsgen --bench --size %s --seed %s: %s\n' "$SIZE" "$SEED" "$GENLINE"
printf '# tlsresume %s%s, %s, %d cores, %s; wall s = median of the runs after a warm-up\n' "$VERSION" \
	"${WORKERS:+ --workers $WORKERS}" "$(go env GOVERSION)" "$(nproc)" "$(date -u +%Y-%m-%dT%H:%MZ)"
{
	printf 'command\truns\twall_s\tspread_s\tpeak_MiB\tpackets/s\tMB/s\tload\tratio\n'
	awk -F'\t' -v r1="$(ratio tlsresume floor)" -v r2="$(ratio tlsresume floor-decode)" \
		-v r3="$( ((HAVE_TSHARK)) && ratio tshark tlsresume)" -v r4="$(ratio floor cat)" -v r5="$(ratio tlsresume cat)" \
		-v r6="$( ((HAVE_GZ)) && ratio tlsresume-gz floor-gz)" -v r7="$( ((HAVE_GZ)) && ratio tlsresume-gz tlsresume)" \
		'BEGIN { OFS = "\t" }
		$1 == "tlsresume" { $10 = r1 " floor, " r2 " floor -decode, " r5 " cat" }
		$1 == "floor" { $10 = r4 " cat" }
		$1 == "tshark" { $10 = r3 " tlsresume" }
		$1 == "tlsresume-gz" { $1 = "tlsresume .gz"; $10 = r6 " floor -gz, " r7 " tlsresume" }
		$1 == "floor-gz" { $1 = "floor -gz" }
		$1 == "cat" { $1 = "cat > /dev/null" }
		{ $1 = ($1 == "floor-decode") ? "floor -decode" : $1; print }' "$TMP/rows"
} | column -t -s $'\t'
((HAVE_GZ)) && printf '# the .gz rows read %s (gzip -1, %.1f MB); their MB/s and packets/s are of the uncompressed file\n' \
	"$GZFILE" "$(awk -v b="$GZBYTES" 'BEGIN { print b / 1e6 }')"
((HAVE_TSHARK)) || echo "tshark: skipped ($( ((TSHARK)) && echo 'not installed' || echo '--no-tshark'))"

# --- the check -------------------------------------------------------------------------------------------------------
# counts as "tls resumed ticket psk session_id rejected"
SUMMARY=$(grep '"type":"summary"' "$TMP/tlsresume.out" | tail -1)
[[ -n $SUMMARY ]] || die "no summary line in tlsresume's output"
first() { grep -o "\"$1\":[0-9]*" <<<"$2" | head -1 | cut -d: -f2; }
BYM=$(grep -o '"by_method":{[^}]*}' <<<"$SUMMARY" | head -1)
GOT="$(first tls_connections "$SUMMARY") $(first resumed "$SUMMARY") $(first ticket "$BYM") $(first psk "$BYM") $(first session_id "$BYM") $(first rejected_offers "$SUMMARY")"
status=0
# check WHAT VERDICT "COUNTS" "COUNTS": VERDICT 1 makes a difference fail the run, 0 only reports it
check() {
	local what=$1 verdict=$2 a=$3 b=$4 word=DIFFER
	if [[ $a == "$b" ]]; then
		word=OK
	elif ((verdict)); then
		status=1
	else
		word="DIFFER (for information)"
	fi
	echo "check: $what: $word"
	paste <(printf '%s\n' tls_connections resumed ticket psk session_id rejected) <(tr ' ' '\n' <<<"$a") <(tr ' ' '\n' <<<"$b") |
		awk -F'\t' '{ printf "  %-16s %10s %10s%s\n", $1, $2, $3, ($2 == $3 ? "" : "   <--") }'
}
if ((HAVE_GZ)); then
	SUMGZ=$(grep '"type":"summary"' "$TMP/tlsresume-gz.out" | tail -1)
	BYMGZ=$(grep -o '"by_method":{[^}]*}' <<<"$SUMGZ" | head -1)
	GOTGZ="$(first tls_connections "$SUMGZ") $(first resumed "$SUMGZ") $(first ticket "$BYMGZ") $(first psk "$BYMGZ") $(first session_id "$BYMGZ") $(first rejected_offers "$SUMGZ")"
	check "tlsresume on FILE.gz vs on FILE: .gz, plain" 1 "$GOTGZ" "$GOT"
fi
if [[ -n $TRUTH ]]; then
	WANT=$(awk -F'\t' 'NR > 1 { n++; if ($12 == "resumed") { r++; m[$13]++ } if ($15 == "true") rej++ }
		END { printf "%d %d %d %d %d %d", n, r, m["ticket"], m["psk"], m["session_id"], rej }' "$TRUTH")
	check "tlsresume vs the generator's truth ($TRUTH): tlsresume, truth" 1 "$GOT" "$WANT"
fi
if ((HAVE_TSHARK)); then
	# A line with handshake type 2 but no version is tshark reading application data as an SSLv2 CLIENT-MASTER-KEY
	# (type 2 there), seen once in the nginx capture: it would replace the stream's ServerHello, so it is dropped.
	TS=$(awk -F'\t' 'NR == 1 || !($7 ~ /(^|,)2(,|$)/ && $8 == "")' "$TMP/tshark.out" |
		awk -f "$ROOT/scripts/tshark-summary.awk" | awk '
		/^TLS connections with/ { gsub(/[;:]/, " "); n = $7; r = $9 }
		/^  TLS1.3:/ { v13r = $4 }
		/^  TLS1.2 resumed by session ID/ { gsub(/,/, ""); sid = $6; tk = $9 }
		/^offers rejected/ { rej = $NF }
		END { printf "%d %d %d %d %d %d", n, r, tk, v13r, sid, rej }')
	if [[ -n $TRUTH ]]; then
		# The truth decides; tshark's counts are shown for information (see the top of this file).
		check "tlsresume vs tshark (tshark-summary.awk): tlsresume, tshark" 0 "$GOT" "$TS"
	else
		check "tlsresume vs tshark (tshark-summary.awk): tlsresume, tshark" 1 "$GOT" "$TS"
	fi
fi
if [[ -z $TRUTH ]] && ((!HAVE_TSHARK)); then
	echo "check: skipped (no truth beside $FILE and no tshark)"
fi
exit "$status"
