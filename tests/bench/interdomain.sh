#!/bin/sh
# interdomain.sh - issue 14's benchmark: reads of another trust domain's
# endpoints through the local registry (pooled peer connections,
# server/peer.c) against local reads in the same run.  Two registries on
# loopback, a.test and b.test, federated as the README's two companies
# are; b.test's frontend reads over keep-alive mTLS with
# tests/bench/loadgen.
#
# usage: tests/bench/interdomain.sh [seconds [connections]]  (from the
# build directory, a build without sanitizers)
#
# Reports (one "name value" line each, then a verdict):
#   local_rps         GET /v1/endpoints?service=web at b.test (10 of its
#                     own endpoints)
#   interdomain_rps   GET /v1/endpoints?service=db@a.test at b.test (10 of
#                     a.test's, asked of a.test's registry); target >= 50%
#                     of local_rps
#   interdomain_100   the same with 100 concurrent callers: p50 and p99
#   peer_connections  connections b.test opened to a.test meanwhile
# Exit 0 when the target is met, 1 when not, 2 when it could not run.
set -u
secs=${1:-5}
conns=${2:-8}
b=${NSREG_BUILDDIR:-.}
bin=$b/server
lg=$b/tests/bench/loadgen
for p in "$lg" "$bin/nsregd" "$bin/nsreg-svid"; do
	[ -x "$p" ] || { echo "interdomain.sh: $p not built" >&2; exit 2; }
done
if ldd "$bin/nsregd" | grep -q libasan; then
	echo "interdomain.sh: a sanitizer build; timings need a plain one" >&2
	exit 2
fi
work=$(mktemp -d /tmp/nsreg-bench-XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

. "${NSREG_SRCDIR:-.}/tests/federation/companies.sh"
. "$(dirname "$0")/lib.sh"

call() {	# call TOKEN_TD|-CRED METHOD URL [BODY]: fails unless 2xx
	_c=$1 _m=$2 _u=$3 _d=${4:-}
	case $_c in
	admin:*) set -- -H "Authorization: Bearer $(cat \
		    "$work/${_c#admin:}/admin.token")" ;;
	*) set -- --cert "$work/$_c.pem" --key "$work/$_c.key" ;;
	esac
	[ -z "$_d" ] || set -- "$@" -H 'Content-Type: application/json' \
	    -d "$_d"
	curl -sf -o /dev/null --cacert "$work/ca-both.pem" "$@" -X "$_m" \
	    "$_u" || { echo "interdomain.sh: $_m $_u failed" >&2; exit 2; }
}

company "$work/a.test" a.test && company "$work/b.test" b.test ||
    { echo "interdomain.sh: cannot set up" >&2; exit 2; }
for w in a.test/pg b.test/frontend b.test/web; do
	"$bin/nsreg-svid" -d "$work/${w%/*}" x509 \
	    "spiffe://${w%/*}/ns/x/sa/${w#*/}" -o "$work/$w.pem" \
	    -k "$work/$w.key" >/dev/null || exit 2
done
cat "$work/a.test/bundle.pem" "$work/b.test/bundle.pem" > "$work/ca-both.pem"
start "$work/a.test" a.test || { echo "a.test: $startlog" >&2; exit 2; }
pids="$pids $startpid"
A=$url
start "$work/b.test" b.test || { echo "b.test: $startlog" >&2; exit 2; }
pids="$pids $startpid"
B=$url
for td in a.test b.test; do
	[ $td = b.test ] && u=$B || u=$A
	call admin:$td PUT "$u/v1/policies/local" '{"effect":"permit",
	    "actions":["find","register"],
	    "condition":"principal.trust_domain == '"'$td'"'"}'
done
call admin:a.test PUT "$A/v1/policies/partner-b" '{"effect":"permit",
    "actions":["find"],"services":["db"],
    "condition":"principal.trust_domain == '"'b.test'"'"}'
call admin:a.test PUT "$A/v1/trust-domains/b.test" \
    '{"bundle":'"$(cat "$work/b.test/bundle.json")"'}'
call admin:b.test PUT "$B/v1/trust-domains/a.test" \
    '{"bundle":'"$(cat "$work/a.test/bundle.json")"',
      "registry_url":"'"$A"'"}'
call admin:a.test PUT "$A/v1/services/db" '{}'
call admin:b.test PUT "$B/v1/services/web" '{}'
for i in 0 1 2 3 4 5 6 7 8 9; do
	call a.test/pg PUT "$A/v1/endpoints/db-$i" \
	    '{"url":"tcp://10.0.0.'"$i"':5432","network_service_names":["db"]}'
	call b.test/web PUT "$B/v1/endpoints/web-$i" \
	    '{"url":"tcp://10.1.0.'"$i"':80","network_service_names":["web"]}'
done

run() {	# run CONNS PATH
	"$lg" -u "$B" -c "$1" -d "$secs" -p "$2" --cacert "$work/ca-both.pem" \
	    --cert "$work/b.test/frontend.pem" --key "$work/b.test/frontend.key"
}
# Warm up both paths (the peer connection is made once).
run 2 "/v1/endpoints?service=db@a.test" >/dev/null
local_=$(run "$conns" "/v1/endpoints?service=web")
inter=$(run "$conns" "/v1/endpoints?service=db@a.test")
many=$(run 100 "/v1/endpoints?service=db@a.test")
pc=$(curl -s --cacert "$work/ca-both.pem" -H "Authorization: Bearer $(cat \
    "$work/b.test/admin.token")" "$B/metrics" |
    sed -n 's/^nsreg_peer_connections_total{trust_domain="a.test"} //p')
lrps=$(field rps "$local_")
irps=$(field rps "$inter")
echo "local_rps $lrps p50_ms $(field p50_ms "$local_") p99_ms $(field p99_ms "$local_")"
echo "interdomain_rps $irps p50_ms $(field p50_ms "$inter") p99_ms $(field p99_ms "$inter")"
echo "interdomain_100 rps $(field rps "$many") p50_ms $(field p50_ms "$many") p99_ms $(field p99_ms "$many") max_ms $(field max_ms "$many")"
echo "peer_connections $pc"
for r in "$local_" "$inter" "$many"; do
	case $r in
	*'"errors":0'*) ;;
	*) echo "interdomain.sh: errors: $r" >&2; exit 1 ;;
	esac
done
ratio=$(awk -v a="$irps" -v b="$lrps" 'BEGIN { printf "%.2f", a / b }')
if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5) }'; then
	echo "ok: interdomain reads at ${ratio}x local (target >= 0.5x)"
else
	echo "NOT MET: interdomain reads at ${ratio}x local (target >= 0.5x)"
	exit 1
fi
