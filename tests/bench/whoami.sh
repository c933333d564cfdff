#!/bin/sh
# whoami.sh - authenticated GET /v1/whoami over keep-alive HTTPS (issue 3):
# a JWT-SVID with a warm 1,000-token cache against the admin token, in
# the same run, plus X.509-SVID client certificates, JWT-SVIDs that all
# miss the cache, and the library's cache-miss verifications against
# `openssl speed ecdsap256'.  Not part of `make check': build without
# sanitizers (./configure; make) and run from the build directory (the
# benchmark programs are made when missing), alone or from tests/bench/run:
#
#   sh tests/bench/whoami.sh [seconds [rounds [connections]]]
#   (defaults 3 s, 7 rounds, 8 connections)
#
# Each round measures the admin token, the JWT-SVIDs and the client
# certificate back to back (in an order that rotates), so a busy machine
# weighs on all alike; the verdict takes the median of the rounds'
# ratios.  The JWT run rotates
# through 1,000 distinct tokens (loadgen --lines), each verified once
# before the rounds, so every request is a cache hit among 1,000 entries.
# Targets: JWT >= 60% of the admin token's requests/s; library cache
# misses >= 70% of openssl's ECDSA P-256 verifications/s.
# Exit 0 when both are met, 1 when one is not, 2 when it could not run.
set -u
secs=${1:-3}
rounds=${2:-7}
conns=${3:-8}
builddir=${NSREG_BUILDDIR:-$(pwd)}
threads=${NSREG_BENCH_THREADS:-2}
misses=${NSREG_BENCH_MISSES:-30000}
aud=spiffe://example.org/nsregd

for p in server/nsregd server/nsreg-svid tests/bench/loadgen \
    tests/bench/whoami_tokens tests/bench/identity_bench; do
	[ -x "$builddir/$p" ] || make -s -C "$builddir" "$p" >/dev/null 2>&1
	if [ ! -x "$builddir/$p" ]; then
		echo "whoami.sh: $builddir/$p not built (make $p)" >&2
		exit 2
	fi
done
command -v curl >/dev/null || { echo "whoami.sh: needs curl" >&2; exit 2; }

tmp=$(mktemp -d) || exit 2
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

svid() { "$builddir/server/nsreg-svid" -d "$tmp" "$@" >/dev/null; }
svid ca example.org &&
    svid x509 spiffe://example.org/nsregd --dns localhost --ip 127.0.0.1 \
    -o "$tmp/server.pem" -k "$tmp/server.key" &&
    svid x509 spiffe://example.org/bench/client -o "$tmp/client.pem" \
    -k "$tmp/client.key" &&
    svid bundle -o "$tmp/bundle.json" || exit 2
admin=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
echo "$admin" > "$tmp/admin.token"
chmod 600 "$tmp/admin.token"

# A free port: try a few until nsregd answers.
tries=0
while :; do
	tries=$((tries + 1))
	port=$(( ($$ * 7 + tries * 1031) % 30000 + 20000 ))
	cat > "$tmp/nsregd.conf" <<EOF
listen https 127.0.0.1:$port
trust-domain example.org
server-id spiffe://example.org/nsregd
tls-cert server.pem
tls-key server.key
trust-bundle bundle.json
jwt-audience $aud
database sqlite:nsreg.db
admin-token-file admin.token
threads $threads
log-level warn
EOF
	"$builddir/server/nsregd" -d -f "$tmp/nsregd.conf" 2>"$tmp/log" &
	pid=$!
	i=0
	while [ $i -lt 100 ]; do
		curl -sf --cacert "$tmp/bundle.pem" \
		    "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ] && break
	wait "$pid" 2>/dev/null
	pid=""
	if [ $tries -ge 5 ]; then
		echo "whoami.sh: nsregd did not start:" >&2
		cat "$tmp/log" >&2
		exit 2
	fi
done
url=https://127.0.0.1:$port

tok() { "$builddir/tests/bench/whoami_tokens" -d "$tmp" -a "$aud" "$@"; }
tok -n 1000 -p warm > "$tmp/warm.txt" &&
    tok -n "$misses" -p miss > "$tmp/miss.txt" || exit 2

lg() {
	"$builddir/tests/bench/loadgen" -u "$url" --cacert "$tmp/bundle.pem" \
	    -p /v1/whoami "$@"
}
field() { echo "$1" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"; }
# Every answer must be a 200, or the numbers mean nothing.
check() {	# check NAME JSON
	n=$(field "$2" requests)
	ok=$(echo "$2" | sed -n 's/.*"status":{"200":\([0-9]*\)}.*/\1/p')
	if [ -z "$ok" ] || [ "$ok" != "$n" ] || [ "$(field "$2" errors)" != 0 ]
	then
		echo "whoami.sh: $1 did not answer 200 to every request: $2" >&2
		exit 2
	fi
}
median() {
	tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END {
	    if (NR % 2) print v[(NR + 1) / 2];
	    else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Warm the cache: each of the 1,000 tokens verified once.
out=$(lg -c 4 -n 1000 --lines "$tmp/warm.txt" \
    -H 'Authorization: Bearer {t}')
check warm-up "$out"

echo "whoami.sh: $rounds rounds of ${secs}s, $conns connections," \
    "nsregd threads $threads, $(nproc 2>/dev/null || echo '?') CPUs"
# nsregd's CPU time (user + system) in clock ticks, and per request in
# microseconds: a figure other processes on the machine barely move.
tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
us_per_req() {	# us_per_req TICKS0 TICKS1 JSON
	awk -v a="$1" -v b="$2" -v t="$tck" -v n="$(field "$3" requests)" \
	    'BEGIN { printf "%.1f", (b - a) * 1e6 / t / n }'
}
run_admin() {
	c0=$(cpu)
	a=$(lg -c "$conns" -d "$secs" -H "Authorization: Bearer $admin")
	check admin "$a"
	acpu=$(us_per_req "$c0" "$(cpu)" "$a")
}
run_jwt() {
	c0=$(cpu)
	j=$(lg -c "$conns" -d "$secs" --lines "$tmp/warm.txt" \
	    -H 'Authorization: Bearer {t}')
	check jwt "$j"
	jcpu=$(us_per_req "$c0" "$(cpu)" "$j")
}
run_x509() {
	c0=$(cpu)
	x=$(lg -c "$conns" -d "$secs" --cert "$tmp/client.pem" \
	    --key "$tmp/client.key")
	check x509 "$x"
	xcpu=$(us_per_req "$c0" "$(cpu)" "$x")
}
ratios="" adm_all="" jwt_all="" x509_all=""
acpu_all="" jcpu_all="" xcpu_all=""
r=0
while [ "$r" -lt "$rounds" ]; do
	r=$((r + 1))
	case $((r % 3)) in
	1)	run_admin; run_jwt; run_x509 ;;
	2)	run_jwt; run_x509; run_admin ;;
	0)	run_x509; run_admin; run_jwt ;;
	esac
	ar=$(field "$a" rps) jr=$(field "$j" rps) xr=$(field "$x" rps)
	ratio=$(awk -v j="$jr" -v a="$ar" 'BEGIN { printf "%.3f", j / a }')
	echo "round $r admin_rps $ar jwt_rps $jr x509_rps $xr" \
	    "jwt/admin $ratio; server cpu us/request admin $acpu" \
	    "jwt $jcpu x509 $xcpu"
	ratios="$ratios $ratio"
	acpu_all="$acpu_all $acpu" jcpu_all="$jcpu_all $jcpu"
	xcpu_all="$xcpu_all $xcpu"
	adm_all="$adm_all $ar" jwt_all="$jwt_all $jr" x509_all="$x509_all $xr"
done

# JWT-SVIDs never seen before: every request verifies a signature.
c0=$(cpu)
m=$(lg -c "$conns" -n "$misses" --lines "$tmp/miss.txt" \
    -H 'Authorization: Bearer {t}')
check jwt-miss "$m"
echo "http_jwt_cache_miss_rps $(field "$m" rps)" \
    "($(field "$m" requests) distinct tokens, server cpu us/request" \
    "$(us_per_req "$c0" "$(cpu)" "$m"))"
kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
pid=""

# The library side, paired with openssl speed in each round (CPU time).
lib=""
r=0
while [ "$r" -lt "$rounds" ]; do
	r=$((r + 1))
	speed=$(openssl speed -seconds 2 ecdsap256 2>/dev/null |
	    awk '/\(nistp256\)/ { v = $NF } END { print v }')
	miss=$("$builddir/tests/bench/identity_bench" -m -s 2 |
	    awk '$1 == "jwt_verify_miss_per_s" { print $2 }')
	if [ -z "$speed" ] || [ -z "$miss" ]; then
		echo "whoami.sh: the library measurement failed" >&2
		exit 2
	fi
	lr=$(awk -v a="$miss" -v b="$speed" 'BEGIN { printf "%.3f", a / b }')
	echo "round $r openssl_speed_ecdsap256_verify_per_s $speed" \
	    "jwt_verify_miss_per_s $miss ratio $lr"
	lib="$lib $lr"
done

mr=$(echo "$ratios" | median)
ml=$(echo "$lib" | median)
echo "median admin_rps $(echo "$adm_all" | median)" \
    "jwt_rps $(echo "$jwt_all" | median)" \
    "x509_rps $(echo "$x509_all" | median)"
echo "median server cpu us/request admin $(echo "$acpu_all" | median)" \
    "jwt $(echo "$jcpu_all" | median) x509 $(echo "$xcpu_all" | median)"
echo "median jwt/admin $mr (target >= 0.60)"
echo "median jwt_verify_miss/openssl_speed $ml (target >= 0.70)"
rc=0
if ! awk -v r="$mr" 'BEGIN { exit !(r >= 0.60) }'; then
	echo "jwt/admin: NOT met"
	rc=1
fi
if ! awk -v r="$ml" 'BEGIN { exit !(r >= 0.70) }'; then
	echo "miss/openssl: NOT met"
	rc=1
fi
[ $rc -eq 0 ] && echo "targets: met"
exit $rc
