#!/bin/sh
# identity.sh - JWT-SVID verification against `openssl speed ecdsap256',
# measured in the same run.  Not part of `make check': timings want a
# build without sanitizers (./configure without --enable-sanitizers).
#
# usage: tests/bench/identity.sh [seconds]   (from the build directory)
# Target (issue 3): cache-miss verifications >= 70% of openssl's ECDSA
# P-256 verifications per second.  Exit 0 when met, 1 when not, 2 when
# the benchmark could not run.
set -u
secs=${1:-3}
builddir=${NSREG_BUILDDIR:-.}
prog=$builddir/tests/bench/identity

if [ ! -x "$prog" ]; then
	echo "identity.sh: $prog not built (make tests/bench/identity)" >&2
	exit 2
fi

# openssl speed prints "256 bits ecdsa (nistp256) sign verify sign/s
# verify/s"; the last field is verifications per second.
speed=$(openssl speed -seconds "$secs" ecdsap256 2>/dev/null |
    awk '/\(nistp256\)/ { v = $NF } END { print v }')
if [ -z "$speed" ]; then
	echo "identity.sh: cannot run openssl speed ecdsap256" >&2
	exit 2
fi

out=$("$prog" -s "$secs") || exit 2
echo "$out"
echo "openssl_speed_ecdsap256_verify_per_s $speed"
miss=$(echo "$out" | awk '$1 == "jwt_verify_miss_per_s" { print $2 }')
ratio=$(awk -v a="$miss" -v b="$speed" 'BEGIN { printf "%.3f", a / b }')
echo "jwt_miss_vs_openssl_speed $ratio"
if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.70) }'; then
	echo "target (>= 0.70): met"
	exit 0
fi
echo "target (>= 0.70): NOT met"
exit 1
