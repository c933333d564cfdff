#!/bin/sh
# admission.sh - what admission costs a hot read.  In one run:
#   1. tests/bench/admission: a decision and its log entry inside nsregd,
#      without HTTP, and the decision log writer's throughput;
#   2. GET /v1/endpoints?service=db over TLS with a client X.509-SVID
#      (keep-alive, tests/bench/loadgen), every request decided by the
#      rules and logged, against nsregd with the dev starter rule (which
#      looks at no record: one decision per list), then again with an
#      audit rule that looks at the endpoints (one decision per item);
#   3. the same load on bare_mhd, a bare libmicrohttpd TLS handler with a
#      fixed JSON body: the ceiling (DESIGN section 7);
# and prints the ratio (the target is at least 0.5).  Not part of make
# check.  Build without --enable-sanitizers, then from the build folder:
#   sh tests/bench/admission.sh [SECONDS] [CONNECTIONS]
builddir=${NSREG_BUILDDIR:-$(pwd)}
seconds=${1:-5}
conns=${2:-16}
port=${NSREG_BENCH_PORT:-18643}
tmp=$(mktemp -d) || exit 1
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

"$builddir/tests/bench/admission" -n 500000 2>/dev/null || exit 1

# The dev folder gives a CA, the server's and a client's SVIDs and the
# starter rule; then the server runs quietly (no access log) on 2 threads.
d=$tmp/dev
"$builddir/server/nsregd" --dev "$d" --port "$port" >"$tmp/dev.log" 2>&1 &
devpid=$!
i=0
while [ ! -f "$d/admin.token" ] || ! curl -sf --cacert "$d/bundle.pem" \
    "https://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "nsregd --dev failed"; exit 1; }
	sleep 0.1
done
kill $devpid; wait $devpid 2>/dev/null
sed -e "s/^log-level .*/log-level warn/" \
    -e "s/^listen .*/listen https 127.0.0.1:$port/" "$d/nsregd.conf" > "$d/bench.conf"
echo "threads 2" >> "$d/bench.conf"
"$builddir/server/nsregd" -d -f "$d/bench.conf" >"$tmp/nsregd.log" 2>&1 &
pids="$!"
u=https://127.0.0.1:$port
i=0
while ! curl -sf --cacert "$d/bundle.pem" "$u/healthz" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "nsregd failed"; exit 1; }
	sleep 0.1
done
admin="Authorization: Bearer $(cat "$d/admin.token")"
curl -sf --cacert "$d/bundle.pem" -H "$admin" -X PUT \
    -H 'Content-Type: application/json' -d '{"labels":{"tier":"data"}}' \
    "$u/v1/services/db" >/dev/null || exit 1
for e in 1 2 3; do
	curl -sf --cacert "$d/bundle.pem" --cert "$d/client.pem" \
	    --key "$d/client.key" -X PUT -H 'Content-Type: application/json' \
	    -d "{\"url\":\"tcp://10.0.0.$e:5432\",\"network_service_names\":[\"db\"],\"network_service_labels\":{\"db\":{\"app\":\"pg\"}},\"expiration_time\":\"2999-01-01T00:00:00Z\"}" \
	    "$u/v1/endpoints/db-$e" >/dev/null || exit 1
done
n=$(curl -sf --cacert "$d/bundle.pem" --cert "$d/client.pem" \
    --key "$d/client.key" "$u/v1/endpoints?service=db" |
    grep -o '"name":"db-' | wc -l)
[ "$n" -eq 3 ] || { echo "expected 3 endpoints, got $n"; exit 1; }

lg() {	# lg URL PATH
	"$builddir/tests/bench/loadgen" -u "$1" -c "$conns" -d "$seconds" \
	    -p "$2" --cacert "$d/bundle.pem" --cert "$d/client.pem" \
	    --key "$d/client.key"
}
rps() { sed -n 's/.*"rps":\([0-9.]*\).*/\1/p'; }

nsreg=$(lg "$u" "/v1/endpoints?service=db")
echo "nsregd GET /v1/endpoints?service=db: $nsreg"
# A rule that looks at the endpoints: every item is decided (and parsed).
curl -sf --cacert "$d/bundle.pem" -H "$admin" -X PUT \
    -H 'Content-Type: application/json' -d '{"effect":"forbid",
    "actions":["find"],"mode":"audit",
    "condition":"endpoint.url.startsWith(\"udp://\")"}' \
    "$u/v1/policies/audit-udp" >/dev/null || exit 1
peritem=$(lg "$u" "/v1/endpoints?service=db")
echo "nsregd, each item decided: $peritem"
logged=$(curl -sf --cacert "$d/bundle.pem" -H "$admin" \
    "$u/v1/decisions?limit=1" | grep -o '"id":[0-9]*')
echo "decision log: last entry $logged"
kill $pids; wait $pids 2>/dev/null
pids=""

"$builddir/tests/bench/bare_mhd" "$port" "$d/server.pem" "$d/server.key" \
    "$d/bundle.pem" 2 >"$tmp/bare.log" 2>&1 &
pids="$!"
sleep 0.5
bare=$(lg "$u" "/")
echo "bare_mhd GET /: $bare"
a=$(echo "$nsreg" | rps)
p=$(echo "$peritem" | rps)
b=$(echo "$bare" | rps)
awk -v a="$a" -v p="$p" -v b="$b" 'BEGIN {
    printf "ratio nsregd/bare = %.2f (target >= 0.50); each item decided: %.2f\n", a / b, p / b }'
