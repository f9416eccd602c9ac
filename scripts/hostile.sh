#!/bin/sh
# hostile.sh: peak RSS and time of tlsresume on each hostile capture shape.
#
#   scripts/hostile.sh [SHAPE ...]        (default: every shape)
#
# Builds tlsresume, writes each shape with internal/hostile (default scale)
# into $HOSTILE_DIR (default /tmp/tlsresume-hostile, kept between runs; delete
# it to regenerate), runs tlsresume on it under /usr/bin/time and prints one
# line per shape. Exits 1 if a run exceeds $HOSTILE_MAX_KB of peak RSS
# (default 262144, 256 MiB) or does not exit 0. Extra tlsresume flags can be
# given in $TLSRESUME_FLAGS (for example --workers 2).
set -eu
cd "$(dirname "$0")/.."
dir=${HOSTILE_DIR:-/tmp/tlsresume-hostile}
max=${HOSTILE_MAX_KB:-262144}
mkdir -p "$dir"
go build -o "$dir/tlsresume" ./cmd/tlsresume
go build -o "$dir/hostile" ./internal/hostile
shapes=${*:-$("$dir/hostile" -list | awk '{print $1}')}
status=0
printf '%-20s %10s %12s %9s  %s\n' shape file_MB peak_RSS_KB time_s verdict
for s in $shapes; do
	f="$dir/$s.pcap"
	[ -s "$f" ] || "$dir/hostile" -shape "$s" -o "$f"
	mb=$(( $(wc -c <"$f") / 1048576 ))
	rc=0
	/usr/bin/time -f '%M %e' -o "$dir/$s.time" "$dir/tlsresume" ${TLSRESUME_FLAGS:-} -r "$f" >"$dir/$s.out" 2>"$dir/$s.err" || rc=$?
	read -r kb secs <"$dir/$s.time"
	verdict=ok
	if [ "$rc" -ne 0 ]; then verdict="exit $rc: $(head -c 200 "$dir/$s.err")"; status=1; fi
	if [ "$kb" -gt "$max" ]; then verdict="OVER ${max} KB"; status=1; fi
	printf '%-20s %10s %12s %9s  %s\n' "$s" "$mb" "$kb" "$secs" "$verdict"
done
exit $status
