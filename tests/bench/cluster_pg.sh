#!/bin/sh
# cluster_pg.sh - issue 11's throughput benchmark: two nsregd on one
# PostgreSQL against PostgreSQL's own ceiling, and a PostgreSQL-backed
# list against the bare libmicrohttpd TLS ceiling, in one run.
#
# usage: tests/bench/cluster_pg.sh [seconds [connections]]  (from the
# build directory, a build without sanitizers; connections per instance,
# default 16: concurrent writes share commits, so more of them is more
# throughput, up to PostgreSQL's flush rate)
#
# A private PostgreSQL (tests/pg/pg-start.sh) with fsync and
# synchronous_commit on, so that every commit reaches the disk.
# Reports (one "name value" line each, then a verdict):
#   pgbench_tps       pgbench, 4 clients, one INSERT of a row with a JSON
#                     column per transaction: the write ceiling (the
#                     median of three runs)
#   register_rps      PUT /v1/endpoints/NEW, half through each instance
#                     (connections each); target >= 0.5 x pgbench_tps
#   ceiling_rps       bare MHD TLS handler, fixed 100-byte JSON body
#   list_rps          GET /v1/endpoints?service=S on the second instance
#                     (10 of 2,000 endpoints over 200 services, written
#                     through the first); target >= 0.5 x ceiling_rps
#                     (the round of the median ratio of five rounds,
#                     each the list then the ceiling, back to back)
# Each instance runs with the default threads (the number of
# processors): a write waits for its commit, and a list for the
# database's revision, without holding a thread, so the writes of every
# connection share commits (group commit) and the lists share revision
# checks.
# Exit 0 when every target is met, 1 when not, 2 when it could not run.
set -u
secs=${1:-5}
conns=${2:-16}
b=${NSREG_BUILDDIR:-.}
top=$(cd "$(dirname "$0")/../.." && pwd)
lg=$b/tests/bench/loadgen
bare=$b/tests/bench/bare_mhd
nsregd=$b/server/nsregd
make -s -C "$b" tests/bench/loadgen tests/bench/bare_mhd >/dev/null 2>&1
. "$(dirname "$0")/lib.sh"
need_built "$lg" "$bare" "$nsregd"
command -v pgbench >/dev/null 2>&1 ||
    { echo "cluster_pg.sh: no pgbench (postgresql-client)" >&2; exit 2; }
need_plain "$nsregd"

tmp=$(mktemp -d /tmp/nsreg-bench-XXXXXX)
chmod 0755 "$tmp"
pids=""
pgdir=""
cleanup() {
	bench_cleanup
	[ -z "$pgdir" ] || sh "$top/tests/pg/pg-stop.sh" "$pgdir"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

pg=$(PG_START_OPTS="-c fsync=on -c synchronous_commit=on" \
    sh "$top/tests/pg/pg-start.sh") || {
	echo "cluster_pg.sh: no PostgreSQL" >&2
	exit 2
}
pgdir=${pg#*host=}
pgdir=${pgdir%%&*}

# The ceiling of the database: one row with a JSON column per commit.
psql -q "$pg" -c "CREATE TABLE bench_rows (id BIGSERIAL PRIMARY KEY, \
    doc JSONB NOT NULL)" >/dev/null || exit 2
cat > "$tmp/insert.sql" <<'SQL'
INSERT INTO bench_rows (doc) VALUES ('{"name":"e","url":"tcp://10.0.0.2:5000","network_service_names":["svc-1"]}');
SQL
median() {	# median A B C
	printf '%s\n' "$@" | sort -n | sed -n 2p
}
# Three runs (its median): a flush's cost varies from run to run.
tpss=""
for r in 1 2 3; do
	pgb=$(pgbench -n -c 4 -j 2 -T "$secs" -f "$tmp/insert.sql" "$pg" 2>&1)
	t=$(echo "$pgb" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
	[ -n "$t" ] || { echo "cluster_pg.sh: pgbench: $pgb" >&2; exit 2; }
	tpss="$tpss $t"
done
# shellcheck disable=SC2086
tps=$(median $tpss)
db="$pg&options=-csearch_path%3Dbench"

# Identities: let nsregd --dev create them; both instances share them.
dev_identities "$(port)"
for n in a b; do
	p=$(port)
	eval "port_$n=$p"
	{ bench_conf "$p" "$db"; cat <<CONF; } > "$tmp/$n.conf"
instance-name $n
grant-key grant.key
endpoint-default-ttl 1h
endpoint-max-ttl 1h
log-level warn
CONF
	nsregd_start "$tmp/$n.conf" "$tmp/nsregd-$n.log" \
	    "https://127.0.0.1:$p"
done
a=https://127.0.0.1:$port_a
bb=https://127.0.0.1:$port_b
cred="--cacert $tmp/bundle.pem --cert $tmp/client.pem --key $tmp/client.key"
curl -s --cacert "$tmp/bundle.pem" \
    -H "Authorization: Bearer $(cat "$tmp/admin.token")" \
    -X PUT -H 'Content-Type: application/json' \
    -d '{"effect":"permit","actions":["find","register","unregister"],"condition":"principal.trust_domain == \"example.org\""}' \
    "$a/v1/policies/bench" >/dev/null
sleep 1

# Registration through both instances at once (services reg-*, which
# the lists below do not ask for: they list 10 endpoints each).
# shellcheck disable=SC2086
"$lg" -u "$a" -c "$conns" -d "$secs" -m PUT -p '/v1/endpoints/a-{i}' \
    -b '{"url":"tcp://10.0.0.2:5000","network_service_names":["reg-{s}"]}' \
    --mod 1000 $cred > "$tmp/reg-a.json" &
ra=$!
# shellcheck disable=SC2086
"$lg" -u "$bb" -c "$conns" -d "$secs" -m PUT -p '/v1/endpoints/b-{i}' \
    -b '{"url":"tcp://10.0.0.2:5000","network_service_names":["reg-{s}"]}' \
    --mod 1000 $cred > "$tmp/reg-b.json" &
rb=$!
wait "$ra" "$rb"
rega=$(cat "$tmp/reg-a.json")
regb=$(cat "$tmp/reg-b.json")
rrps=$(awk -v a="$(field rps "$rega")" -v b="$(field rps "$regb")" \
    'BEGIN { printf "%.0f", a + b }')

# 2,000 endpoints over 200 services written through a, listed on b.
# shellcheck disable=SC2086
pre=$("$lg" -u "$a" -c "$conns" -n 2000 -m PUT -p '/v1/endpoints/pre-{i}' \
    -b '{"url":"tcp://10.0.0.1:5000","network_service_names":["svc-{s}"],"network_service_labels":{"svc-{s}":{"app":"pg"}}}' \
    --mod 200 $cred)
[ "$(field 201 "$pre")" = 2000 ] ||
    { echo "cluster_pg.sh: preload: $pre" >&2; exit 2; }
sleep 1

# Five rounds of the list then the HTTP stack's ceiling, back to back.
# The machine's speed drifts between runs (the ceiling, client and server
# waking each other with the processors partly idle, swings by a fifth
# and more), and a round's two runs see the same machine: the ratio is
# that of the round whose ratio is the median.
bp=$(port)
"$bare" "$bp" "$tmp/server.pem" "$tmp/server.key" "$tmp/bundle.pem" 2 &
pids="$pids $!"
sleep 0.3
ratios=""
for r in 1 2 3 4 5; do
	# shellcheck disable=SC2086
	l=$("$lg" -u "$bb" -c "$conns" -d "$secs" \
	    -p '/v1/endpoints?service=svc-{r}' --mod 200 $cred)
	# shellcheck disable=SC2086
	c=$("$lg" -u "https://127.0.0.1:$bp" -c "$conns" -d "$secs" -p / \
	    $cred)
	q=$(awk -v a="$(field rps "$l")" -v b="$(field rps "$c")" \
	    'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')
	eval "list_$r=\$l ceil_$r=\$c ratio_$r=\$q"
	ratios="$ratios $q"
	echo "round $r: list_rps $(field rps "$l") ceiling_rps $(field rps "$c") ratio $q"
done
kill $pids 2>/dev/null
pids=""
qm=$(printf '%s\n' $ratios | sort -n | sed -n 3p)
for r in 1 2 3 4 5; do
	eval "q=\$ratio_$r"
	[ "$q" = "$qm" ] && eval "list=\$list_$r ceil=\$ceil_$r"
done

crps=$(field rps "$ceil")
lrps=$(field rps "$list")
echo "pgbench_tps $tps (runs:$tpss)"
echo "register_rps $rrps (a $(field rps "$rega") p99_ms $(field p99_ms "$rega"), b $(field rps "$regb") p99_ms $(field p99_ms "$regb"), acked $(field 201 "$rega") + $(field 201 "$regb"))"
echo "register_ratio $(awk -v a="$rrps" -v b="$tps" 'BEGIN { printf "%.2f", a / b }')"
echo "ceiling_rps $crps p99_ms $(field p99_ms "$ceil")"
echo "list_rps $lrps p50_ms $(field p50_ms "$list") p99_ms $(field p99_ms "$list") ok $(field 200 "$list")"
echo "list_ratio $(awk -v a="$lrps" -v b="$crps" 'BEGIN { printf "%.2f", a / b }')"
ok=0
awk -v a="$rrps" -v b="$tps" 'BEGIN { exit !(a >= 0.5 * b) }' ||
    { echo "register below 0.5 x pgbench"; ok=1; }
awk -v a="$lrps" -v b="$crps" 'BEGIN { exit !(a >= 0.5 * b) }' ||
    { echo "list below 0.5 x the MHD ceiling"; ok=1; }
[ $ok -eq 0 ] && echo "verdict: every target met" ||
    echo "verdict: a target was missed"
exit $ok
