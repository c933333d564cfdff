#!/bin/sh
# grants.sh - issue 5's benchmark: POST /v1/grants with a cached JWT-SVID,
# 100 admission rules and a vL3 service, over keep-alive HTTPS, with
# tests/bench/loadgen beside nsregd on the same machine; next to
# `openssl speed ecdsap256` and the endpoint registration rate measured in
# the same run; then every acknowledged grant checked after a kill -9.
#
# usage: tests/bench/grants.sh [seconds [connections [rounds]]]
#        (from the build directory, a build without sanitizers)
#
# Each round measures grants then registrations for `seconds`; the report
# gives every round and the medians, with the machine's load average
# before and after (the machine may be shared: read the numbers with it).
# The last phase kills nsregd with -9 in the middle of a grant load,
# starts it again and counts the grants: every acknowledged one must be
# there.  Exit 0 when the median grant rate is at least 5,000/s and no
# acknowledged grant is missing, 1 when not, 2 when it could not run.
set -u
secs=${1:-5}
conns=${2:-16}
rounds=${3:-3}
b=${NSREG_BUILDDIR:-.}
lg=$b/tests/bench/loadgen
nsregd=$b/server/nsregd
. "$(dirname "$0")/lib.sh"
need_built "$lg" "$nsregd"
need_plain "$nsregd"
command -v curl >/dev/null || { echo "grants.sh: curl needed" >&2; exit 2; }

tmp=$(mktemp -d /tmp/nsreg-bench-grants-XXXXXX)
srv=""
cleanup() {
	[ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
	if [ -n "${NSREG_KEEP_BENCH:-}" ]; then
		echo "grants.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT INT TERM

median() {	# median VALUE...
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
	    END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
load() {
	cut -d' ' -f1-3 /proc/loadavg
}

# Identities (and grant.key) from nsregd --dev, then our own file.
p=$(port)
dev_identities "$p"
{ bench_conf "$p" sqlite:bench.db; cat <<CONF; } > "$tmp/bench.conf"
grant-key grant.key
grant-ttl 1h
endpoint-default-ttl 1h
endpoint-max-ttl 1h
log-level warn
threads 16
CONF
url=https://127.0.0.1:$p
ca="--cacert $tmp/bundle.pem"
x509="$ca --cert $tmp/client.pem --key $tmp/client.key"
admin="Authorization: Bearer $(cat "$tmp/admin.token")"
jwt="Authorization: Bearer $(cat "$tmp/client.jwt")"

start() {
	nsregd_start "$tmp/bench.conf" "$tmp/nsregd.log" "$url"
}
alive() {	# alive WHAT: nsregd still runs, or the benchmark stops
	kill -0 "$srv" 2>/dev/null && return 0
	echo "grants.sh: nsregd died during $1; see $tmp/nsregd.log" >&2
	tail -5 "$tmp/nsregd.log" >&2
	srv=""
	exit 2
}
put() {	# put PATH BODY: the status of an admin PUT
	# shellcheck disable=SC2086
	curl -s -o /dev/null -w '%{http_code}' $ca -H "$admin" -X PUT \
	    -H 'Content-Type: application/json' -d "$2" "$url$1"
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "load_before $(load)"
sign=$(openssl speed -seconds 3 ecdsap256 2>/dev/null |
    awk '/ecdsa \(nistp256\)/ { print $7 }')
echo "openssl_ecdsap256_sign_per_s $sign (one core)"

start
# 100 rules: 98 connect permits that do not hold, the one that does, and
# one for registering; all are evaluated (a server without admission
# rules answers 404 to these and admits its own trust domain).
rules=0
i=0
while [ $i -lt 98 ]; do
	c=$(put "/v1/policies/team-$i" "{\"effect\":\"permit\",\"actions\":[\"connect\"],\"services\":[\"db-replication\"],\"condition\":\"principal.trust_domain == 'example.org' && principal.path.startsWith('/ns/team-$i/') && request.labels.app == 'postgres'\"}")
	[ "$c" = 201 ] && rules=$((rules + 1))
	i=$((i + 1))
done
c=$(put /v1/policies/db-postgres '{"effect":"permit","actions":["connect"],"services":["db-replication"],"condition":"principal.trust_domain == '"'"'example.org'"'"' && principal.path.startsWith('"'"'/ns/default/'"'"') && request.labels.app == '"'"'postgres'"'"'"}')
[ "$c" = 201 ] && rules=$((rules + 1))
c=$(put /v1/policies/registry '{"effect":"permit","actions":["find","register","unregister"],"condition":"principal.trust_domain == '"'"'example.org'"'"'"}')
[ "$c" = 201 ] && rules=$((rules + 1))
echo "rules $rules"
[ "$(put /v1/services/db-replication '{"vl3":{"prefix":"10.60.0.0/16"}}')" = 201 ] ||
    { echo "grants.sh: cannot publish the service" >&2; exit 2; }
for e in db-east db-west; do
	# shellcheck disable=SC2086
	c=$(curl -s -o /dev/null -w '%{http_code}' $x509 -X PUT \
	    -H 'Content-Type: application/json' \
	    -d '{"url":"tcp://10.1.0.5:5432","network_service_names":["db-replication"]}' \
	    "$url/v1/endpoints/$e")
	[ "$c" = 201 ] || { echo "grants.sh: endpoint $e: $c" >&2; exit 2; }
done

body='{"service":"db-replication","labels":{"app":"postgres"}}'
total=0
r=1
grps="" gp99="" rrps=""
while [ $r -le "$rounds" ]; do
	lb=$(load)
	# shellcheck disable=SC2086
	g=$("$lg" -u "$url" -c "$conns" -d "$secs" -m POST -p /v1/grants \
	    -b "$body" -H "$jwt" $ca)
	# shellcheck disable=SC2086
	reg=$("$lg" -u "$url" -c "$conns" -d "$secs" -m PUT \
	    -p "/v1/endpoints/reg-$r-{i}" \
	    -b '{"url":"tcp://10.0.0.2:5000","network_service_names":["svc-{s}"]}' \
	    --mod 1000 $x509)
	alive "round $r"
	ok=$(field 201 "$g")
	total=$((total + ${ok:-0}))
	echo "round $r grants_rps $(field rps "$g") p50_ms $(field p50_ms "$g") p99_ms $(field p99_ms "$g") status $(echo "$g" | sed 's/.*"status"://')" \
	    "register_rps $(field rps "$reg") p99_ms $(field p99_ms "$reg") load $lb -> $(load)"
	grps="$grps $(field rps "$g")"
	gp99="$gp99 $(field p99_ms "$g")"
	rrps="$rrps $(field rps "$reg")"
	r=$((r + 1))
done
mg=$(median $grps)
echo "median grants_rps $mg p99_ms $(median $gp99) register_rps $(median $rrps)"
echo "grants_per_openssl_sign $(awk -v a="$mg" -v b="$sign" 'BEGIN { printf "%.3f", a / b }')"

# kill -9 in the middle of a grant load: the acknowledged grants stay.
# shellcheck disable=SC2086
"$lg" -u "$url" -c "$conns" -d "$secs" -m POST -p /v1/grants -b "$body" \
    -H "$jwt" $ca > "$tmp/kill.json" &
lgpid=$!
sleep "$(awk -v s="$secs" 'BEGIN { print s / 2 }')"
kill -9 "$srv"
wait "$srv" 2>/dev/null
srv=""
wait "$lgpid"
acked=$(field 201 "$(cat "$tmp/kill.json")")
want=$((total + ${acked:-0}))
start
have=$(curl -s $ca -H "$admin" "$url/metrics" | awk '$1 == "nsreg_grants" { print $2 }')
echo "kill9 acknowledged_total $want present_after_restart $have (in flight at the kill: at most $conns more)"
echo "load_after $(load)"
status=0
awk -v a="$mg" 'BEGIN { exit !(a >= 5000) }' || {
	echo "target: median grants_rps $mg < 5000"
	status=1
}
if [ "${have:-0}" -lt "$want" ] || [ "${have:-0}" -gt $((want + conns)) ]; then
	echo "durability: $have grants after kill -9, $want acknowledged"
	status=1
fi
exit $status
