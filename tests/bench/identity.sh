#!/bin/sh
# identity.sh - JWT-SVID verification against `openssl speed ecdsap256',
# measured in the same run.  Not part of `make check': timings want a
# build without sanitizers (./configure without --enable-sanitizers).
#
# usage: tests/bench/identity.sh [seconds [rounds]]  (from the build dir)
#
# Both sides count per second of CPU time (openssl speed measures user
# time), so a busy machine does not skew the comparison; it is still made
# in rounds, each running `openssl speed' then the cache-miss benchmark
# back to back, and the verdict is the median of the rounds' ratios.
# Target (issue 3): cache-miss verifications >= 70% of openssl's ECDSA
# P-256 verifications per second.  Exit 0 when met, 1 when not, 2 when
# the benchmark could not run.
set -u
secs=${1:-2}
rounds=${2:-5}
builddir=${NSREG_BUILDDIR:-.}
prog=$builddir/tests/bench/identity_bench

if [ ! -x "$prog" ]; then
	echo "identity.sh: $prog not built (make tests/bench/identity_bench)" >&2
	exit 2
fi

ratios=""
r=0
while [ "$r" -lt "$rounds" ]; do
	r=$((r + 1))
	# "256 bits ecdsa (nistp256) sign verify sign/s verify/s": the
	# last field is verifications per second.
	speed=$(openssl speed -seconds "$secs" ecdsap256 2>/dev/null |
	    awk '/\(nistp256\)/ { v = $NF } END { print v }')
	miss=$("$prog" -m -s "$secs" |
	    awk '$1 == "jwt_verify_miss_per_s" { print $2 }')
	if [ -z "$speed" ] || [ -z "$miss" ]; then
		echo "identity.sh: a measurement failed" >&2
		exit 2
	fi
	ratio=$(awk -v a="$miss" -v b="$speed" \
	    'BEGIN { printf "%.3f", a / b }')
	echo "round $r openssl_speed_ecdsap256_verify_per_s $speed" \
	    "jwt_verify_miss_per_s $miss ratio $ratio"
	ratios="$ratios $ratio"
done
median=$(echo "$ratios" | tr ' ' '\n' | grep . | sort -n |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
    else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')

"$prog" -s "$secs" || exit 2
echo "jwt_miss_vs_openssl_speed_median $median"
if awk -v r="$median" 'BEGIN { exit !(r >= 0.70) }'; then
	echo "target (>= 0.70): met"
	exit 0
fi
echo "target (>= 0.70): NOT met"
exit 1
