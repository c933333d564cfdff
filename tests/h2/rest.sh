#!/bin/sh
# tests/h2/rest.sh - the REST integration suites a second time, over
# HTTP/2: NSREG_TEST_PROTO=h2 makes tests/integration/harness.c give
# every nsregd a "listen h2" and send every request and watch there
# (libcurl, ALPN h2), so the same assertions hold on both protocols.
# Tests of HTTP/1.1's own framing talk to the https port and stay
# HTTP/1.1.  Two lanes of suites run side by side (they mostly wait); in
# the sanitizer build (slower) a smaller set runs.  One TAP stream, each
# case named after its suite.
set -u
top=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${NSREG_BUILDDIR:-$top}

lane1="test_grants test_http test_metrics test_limits"
lane2="test_registry test_watch test_identity test_policy test_trust_domains"
if grep -q '^SAN_CFLAGS = .*fsanitize' "$build/Makefile" 2>/dev/null; then
	lane1="test_registry test_http"
	lane2="test_watch"
fi
NSREG_TEST_PROTO=h2
export NSREG_TEST_PROTO
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

lane() {	# lane SUITE...: each suite's TAP into $out/SUITE
	for t in "$@"; do
		# Criterion reopens /dev/stdout: through a pipe, not a file.
		{ sh "$top/tests/criterion-tap" \
		    "$build/tests/integration/$t"; echo $? >"$out/$t.rc"; } |
		    sed "s/^\(\(not \)\{0,1\}ok\) - /\1 - h2 $t: /" \
		    >"$out/$t"
	done
}
# shellcheck disable=SC2086
lane $lane1 &
# shellcheck disable=SC2086
lane $lane2
wait
status=0
for t in $lane1 $lane2; do
	[ "$(cat "$out/$t.rc" 2>/dev/null)" = 0 ] || status=1
done
n=$(cat "$out"/test_* | grep -c '^\(not \)\{0,1\}ok ')
echo "1..$n"
for t in $lane1 $lane2; do
	grep '^\(not \)\{0,1\}ok \|^  \|^#' "$out/$t"
done
exit $status
