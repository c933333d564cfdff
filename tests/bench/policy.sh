#!/bin/sh
# policy.sh - benchmark the admission-rule engine against the reference JS
# CEL implementation on the same rule sets and requests, and print the
# ratio.  Not part of make check.  Build first (./configure without
# --enable-sanitizers; make), then run from the build directory:
#   sh tests/bench/policy.sh [SECONDS]
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${NSREG_BUILDDIR:-$(pwd)}
seconds=${1:-3}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

"$builddir/tests/bench/policy" -o "$tmp" -t "$seconds" | tee "$tmp/c.txt" ||
    exit 1

# The JS side needs the harness's node_modules (@bufbuild/cel).
mods=$builddir/tests/cel-conformance.run
if [ ! -d "$mods/node_modules/@bufbuild/cel" ]; then
	mkdir -p "$mods" && cp "$srcdir/tests/cel-conformance/package.json" \
	    "$mods/" && (cd "$mods" && npm install --no-audit --no-fund \
	    >/dev/null 2>&1) || { echo "npm install failed"; exit 1; }
fi
node "$srcdir/tests/bench/policy-js.mjs" "$tmp" "$seconds" "$mods" |
    tee "$tmp/js.txt" || exit 1

for n in 20 1000; do
	c=$(sed -n "s/^c rules=$n .*us_per_decision=\([0-9.]*\).*/\1/p" "$tmp/c.txt")
	j=$(sed -n "s/^js rules=$n .*us_per_decision=\([0-9.]*\).*/\1/p" "$tmp/js.txt")
	awk -v n="$n" -v c="$c" -v j="$j" 'BEGIN {
	    printf "rules=%s nsreg %.3f us/decision, @bufbuild/cel %.3f us/decision: %.1fx faster\n", n, c, j, j / c }'
done
awk '/^c net / { for (i = 1; i <= NF; i++) if ($i ~ /^us_per_condition=/) {
    split($i, a, "="); printf "network rule cidr().containsIP(endpoint.address): %.3f us per condition (target < 0.3: %s)\n",
    a[2], a[2] < 0.3 ? "met" : "missed" } }' "$tmp/c.txt"
