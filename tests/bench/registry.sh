#!/bin/sh
# registry.sh - issue 2's benchmark: nsregd against a bare libmicrohttpd
# TLS handler measured in the same run, over keep-alive HTTPS with a
# client certificate (mTLS), with tests/bench/loadgen beside it.
#
# usage: tests/bench/registry.sh [seconds [connections]]  (from the build
# directory, a build without sanitizers)
#
# Reports (one "name value" line each, then a verdict):
#   ceiling_rps       bare MHD TLS handler, fixed 100-byte JSON body
#   list_rps          GET /v1/endpoints?service=S (10 of 10,000 endpoints
#                     over 1,000 services); target >= 50% of the ceiling
#   register_rps      PUT /v1/endpoints/NEW; target >= 10,000/s, every
#                     acknowledged write present after kill -9
#   rss_100k_kib      RSS of nsregd holding 100,000 endpoints (< 64 MiB)
# with p50/p99 latencies.  Exit 0 when every target is met, 1 when not,
# 2 when the benchmark could not run.
set -u
secs=${1:-5}
conns=${2:-8}
b=${NSREG_BUILDDIR:-.}
lg=$b/tests/bench/loadgen
bare=$b/tests/bench/bare_mhd
nsregd=$b/server/nsregd
. "$(dirname "$0")/lib.sh"
need_built "$lg" "$bare" "$nsregd"
need_plain "$nsregd"

tmp=$(mktemp -d /tmp/nsreg-bench-XXXXXX)
pids=""
trap bench_cleanup EXIT INT TERM

# Identities: let nsregd --dev create them, then run with our own file.
p=$(port)
dev_identities "$p"
{ bench_conf "$p" sqlite:bench.db; cat <<CONF; } > "$tmp/bench.conf"
endpoint-default-ttl 1h
endpoint-max-ttl 1h
log-level warn
CONF
url=https://127.0.0.1:$p
cred="--cacert $tmp/bundle.pem --cert $tmp/client.pem --key $tmp/client.key"

# The ceiling.
bp=$(port)
"$bare" "$bp" "$tmp/server.pem" "$tmp/server.key" "$tmp/bundle.pem" 2 &
pids="$pids $!"
sleep 0.3
# shellcheck disable=SC2086
ceil=$("$lg" -u "https://127.0.0.1:$bp" -c "$conns" -d "$secs" -p / $cred)
kill $pids 2>/dev/null
pids=""

start() {	# the one nsregd: a killed one is not kept in $pids
	pids=""
	nsregd_start "$tmp/bench.conf" "$tmp/nsregd.log" "$url"
}
start
# Admission: let the local trust domain register and find (ignored by a
# server without admission policies).
curl -s --cacert "$tmp/bundle.pem" -H "Authorization: Bearer $(cat "$tmp/admin.token")" \
    -X PUT -H 'Content-Type: application/json' \
    -d '{"effect":"permit","actions":["find","register","unregister"],"condition":"principal.trust_domain == \"example.org\""}' \
    "$url/v1/policies/bench" >/dev/null
# 10,000 endpoints over 1,000 services.
# shellcheck disable=SC2086
pre=$("$lg" -u "$url" -c "$conns" -n 10000 -m PUT -p '/v1/endpoints/pre-{i}' \
    -b '{"url":"tcp://10.0.0.1:5000","network_service_names":["svc-{s}"],"network_service_labels":{"svc-{s}":{"app":"pg"}}}' \
    --mod 1000 $cred)
[ "$(field 201 "$pre")" = 10000 ] || { echo "registry.sh: preload: $pre" >&2; exit 2; }
# shellcheck disable=SC2086
list=$("$lg" -u "$url" -c "$conns" -d "$secs" -p '/v1/endpoints?service=svc-{r}' \
    --mod 1000 $cred)
# shellcheck disable=SC2086
reg=$("$lg" -u "$url" -c "$conns" -d "$secs" -m PUT -p '/v1/endpoints/new-{i}' \
    -b '{"url":"tcp://10.0.0.2:5000","network_service_names":["svc-{s}"]}' \
    --mod 1000 $cred)
acked=$(field 201 "$reg")
kill -9 "$srv"
wait "$srv" 2>/dev/null
start
have=$(curl -s --cacert "$tmp/bundle.pem" \
    -H "Authorization: Bearer $(cat "$tmp/admin.token")" "$url/metrics" |
    awk '$1 == "nsreg_endpoints" { print $2 }')
want=$((10000 + ${acked:-0}))
# Up to 100,000 endpoints, then the RSS.
left=$((100000 - want))
if [ "$left" -gt 0 ]; then
	# shellcheck disable=SC2086
	"$lg" -u "$url" -c "$conns" -n "$left" -m PUT -p '/v1/endpoints/fill-{i}' \
	    -b '{"url":"tcp://10.0.0.3:5000","network_service_names":["svc-{s}"]}' \
	    --mod 1000 $cred >/dev/null
fi
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$srv/status")
total=$(curl -s --cacert "$tmp/bundle.pem" \
    -H "Authorization: Bearer $(cat "$tmp/admin.token")" "$url/metrics" |
    awk '$1 == "nsreg_endpoints" { print $2 }')

crps=$(field rps "$ceil")
lrps=$(field rps "$list")
rrps=$(field rps "$reg")
echo "ceiling_rps $crps p99_ms $(field p99_ms "$ceil")"
echo "list_rps $lrps p50_ms $(field p50_ms "$list") p99_ms $(field p99_ms "$list")"
echo "list_ratio $(awk -v a="$lrps" -v b="$crps" 'BEGIN { printf "%.2f", a / b }')"
echo "register_rps $rrps p50_ms $(field p50_ms "$reg") p99_ms $(field p99_ms "$reg")"
echo "register_acked $acked present_after_kill9 $((have - 10000))"
echo "rss_kib $rss endpoints $total"
ok=0
awk -v a="$lrps" -v b="$crps" 'BEGIN { exit !(a >= 0.5 * b) }' || ok=1
awk -v a="$rrps" 'BEGIN { exit !(a >= 10000) }' || ok=1
[ "$have" = "$want" ] || { echo "LOST WRITES: $have of $want" ; ok=1; }
[ "${rss:-999999}" -lt 65536 ] || ok=1
[ $ok -eq 0 ] && echo "verdict: every target met" || echo "verdict: a target was missed"
exit $ok
