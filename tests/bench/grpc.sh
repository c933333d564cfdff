#!/bin/sh
# grpc.sh - issue 13's benchmark: NSM's registry protocol (gRPC) against
# the REST API over the same HTTP/2 listener, in one run, with one load
# generator for both (tests/bench/h2load.mjs: node:http2, gRPC framed by
# hand, every answer checked).
#
# usage: tests/bench/grpc.sh [seconds [connections [streams]]]  (from the
# build directory, a build without sanitizers)
#
# Reports (one "name value" line each, then a verdict):
#   rest_find_rps   GET /v1/endpoints?service=S (10 of 10,000 endpoints)
#   grpc_find_rps   NetworkServiceEndpointRegistry/Find of the same, the
#                   stream ending after the matches; target >= 0.8 x REST
#   rest_put_rps    PUT /v1/endpoints/NEW
#   grpc_put_rps    NetworkServiceEndpointRegistry/Register of a new
#                   endpoint; target >= 0.8 x REST
# with p50/p99 latencies.  Exit 0 when both targets are met, 1 when not,
# 2 when the benchmark could not run.
set -u
secs=${1:-5}
conns=${2:-4}
streams=${3:-8}
b=${NSREG_BUILDDIR:-.}
here=$(cd "$(dirname "$0")" && pwd)
lg=$b/tests/bench/loadgen
nsregd=$b/server/nsregd
. "$here/lib.sh"
need_built "$lg" "$nsregd"
command -v node >/dev/null 2>&1 || { echo "grpc.sh: needs node" >&2; exit 2; }
need_plain "$nsregd"

tmp=$(mktemp -d /tmp/nsreg-bench-XXXXXX)
pids=""
trap bench_cleanup EXIT INT TERM

# Identities: let nsregd --dev create them, then run with our own file.
p=$(port)
dev_identities "$p"
hp=$(port)
{ bench_conf "$p" sqlite:bench.db; cat <<CONF; } > "$tmp/bench.conf"
listen h2 127.0.0.1:$hp
endpoint-default-ttl 1h
endpoint-max-ttl 1h
log-level warn
CONF
url=https://127.0.0.1:$p
cred="--cacert $tmp/bundle.pem --cert $tmp/client.pem --key $tmp/client.key"
nsregd_start "$tmp/bench.conf" "$tmp/nsregd.log" "$url"
curl -s --cacert "$tmp/bundle.pem" \
    -H "Authorization: Bearer $(cat "$tmp/admin.token")" \
    -X PUT -H 'Content-Type: application/json' \
    -d '{"effect":"permit","actions":["find","register","unregister"],"condition":"principal.trust_domain == \"example.org\""}' \
    "$url/v1/policies/bench" >/dev/null
# 10,000 endpoints over 1,000 services: 10 offer each.
# shellcheck disable=SC2086
pre=$("$lg" -u "$url" -c 8 -n 10000 -m PUT -p '/v1/endpoints/pre-{i}' \
    -b '{"url":"tcp://10.0.0.1:5000","network_service_names":["svc-{s}"]}' \
    --mod 1000 $cred)
[ "$(field 201 "$pre")" = 10000 ] ||
    { echo "grpc.sh: preload: $pre" >&2; exit 2; }

h2() {	# h2 KIND [ARG]: one h2load.mjs run
	CA=$tmp/bundle.pem CERT=$tmp/client.pem KEY=$tmp/client.key \
	    node "$here/h2load.mjs" "https://127.0.0.1:$hp" "$secs" "$conns" \
	    "$streams" "$@"
}
jfield() {	# jfield NAME JSON
	echo "$2" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"
}
rf=$(h2 rest-find svc-7)
gf=$(h2 grpc-find svc-7)
rp=$(h2 rest-put)
gp=$(h2 grpc-put)
ok=0
for r in "$rf" "$gf" "$rp" "$gp"; do
	[ "$(jfield bad "$r")" = 0 ] || { echo "failed calls: $r"; ok=1; }
done
[ "$(jfield items "$rf")" = 10 ] && [ "$(jfield items "$gf")" = 10 ] ||
    { echo "Find did not answer 10 records: $rf $gf"; ok=1; }
for n in rest_find:"$rf" grpc_find:"$gf" rest_put:"$rp" grpc_put:"$gp"; do
	r=${n#*:}
	echo "${n%%:*}_rps $(jfield rps "$r") p50_ms $(jfield p50_ms "$r")" \
	    "p99_ms $(jfield p99_ms "$r")"
done
fr=$(awk -v a="$(jfield rps "$gf")" -v b="$(jfield rps "$rf")" \
    'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
pr=$(awk -v a="$(jfield rps "$gp")" -v b="$(jfield rps "$rp")" \
    'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "find_ratio $fr register_ratio $pr"
awk -v r="$fr" 'BEGIN { exit !(r >= 0.8) }' || ok=1
awk -v r="$pr" 'BEGIN { exit !(r >= 0.8) }' || ok=1
[ $ok -eq 0 ] && echo "verdict: every target met" ||
    echo "verdict: a target was missed"
exit $ok
