#!/bin/sh
# cluster.sh - issue 11's event propagation benchmark: two nsregd on one
# PostgreSQL database (NSREG_TEST_PG, else a private one from
# tests/pg/pg-start.sh, stopped at the end), writes paced at RATE per
# second on instance A, a watcher on B and one on A.
#
# usage: tests/bench/cluster.sh [seconds [rate [connections]]]  (from the build
# directory, a build without sanitizers)
#
# Reports (one "name value" line each, then a verdict):
#   write_rps           PUT /v1/services/NEW on A, paced at rate (1000)
#   propagation_ms      p50, p99, max: the object's updated_at on A to
#                       the event read from B's watch stream; target
#                       p99 < 200 ms
#   local_ms            the same for A's own watch stream (the baseline)
# Exit 0 when the target is met, 1 when not, 2 when it could not run.
set -u
secs=${1:-5}
rate=${2:-1000}
conns=${3:-16}
b=${NSREG_BUILDDIR:-.}
top=$(cd "$(dirname "$0")/../.." && pwd)
lg=$b/tests/bench/loadgen
wl=$b/tests/bench/watch_lat
nsregd=$b/server/nsregd
make -s -C "$b" tests/bench/loadgen tests/bench/watch_lat >/dev/null 2>&1
. "$(dirname "$0")/lib.sh"
need_built "$lg" "$wl" "$nsregd"
need_plain "$nsregd"

tmp=$(mktemp -d /tmp/nsreg-bench-XXXXXX)
pids=""
pgdir=""
cleanup() {
	bench_cleanup
	[ -z "$pgdir" ] || sh "$top/tests/pg/pg-stop.sh" "$pgdir"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

pg=${NSREG_TEST_PG:-}
if [ -z "$pg" ]; then
	pg=$(sh "$top/tests/pg/pg-start.sh") || {
		echo "cluster.sh: no PostgreSQL" >&2
		exit 2
	}
	pgdir=${pg#*host=}
	pgdir=${pgdir%%&*}
fi
case $pg in
*\?*)	db="$pg&options=-csearch_path%3Dbench_$$" ;;
*)	db="$pg?options=-csearch_path%3Dbench_$$" ;;
esac

# Identities: let nsregd --dev create them; both instances share them.
dev_identities "$(port)"
for n in a b; do
	p=$(port)
	eval "port_$n=$p"
	{ bench_conf "$p" "$db"; echo "log-level warn"; } > "$tmp/$n.conf"
	nsregd_start "$tmp/$n.conf" "$tmp/nsregd-$n.log" \
	    "https://127.0.0.1:$p"
done
a=https://127.0.0.1:$port_a
bb=https://127.0.0.1:$port_b
token=$(cat "$tmp/admin.token")

"$wl" "$bb" "/v1/services?watch=true" "$token" "$tmp/bundle.pem" \
    $((secs + 3)) > "$tmp/remote.json" &
wb=$!
"$wl" "$a" "/v1/services?watch=true" "$token" "$tmp/bundle.pem" \
    $((secs + 3)) > "$tmp/local.json" &
wa=$!
sleep 1
w=$("$lg" -u "$a" -c "$conns" -d "$secs" --rate "$rate" -m PUT \
    -p '/v1/services/s-{i}' -b '{}' -H "Authorization: Bearer $token" \
    --cacert "$tmp/bundle.pem")
wait "$wb" "$wa"
remote=$(cat "$tmp/remote.json")
local=$(cat "$tmp/local.json")
echo "write_rps $(field rps "$w") acked $(field 201 "$w") p99_ms $(field p99_ms "$w")"
echo "propagation_ms p50 $(field p50_ms "$remote") p99 $(field p99_ms "$remote") max $(field max_ms "$remote") events $(field events "$remote")"
echo "local_ms p50 $(field p50_ms "$local") p99 $(field p99_ms "$local") max $(field max_ms "$local") events $(field events "$local")"
ok=0
[ "$(field events "$remote")" = "$(field 201 "$w")" ] ||
    { echo "EVENTS MISSING on B"; ok=1; }
awk -v p="$(field p99_ms "$remote")" 'BEGIN { exit !(p < 200) }' || ok=1
[ $ok -eq 0 ] && echo "verdict: every target met" || echo "verdict: a target was missed"
exit $ok
