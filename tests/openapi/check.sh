#!/bin/sh
# check.sh - schema/openapi.yaml checked by standard validators
# (validate.mjs), then real answers of a running nsregd checked against
# it (responses.mjs), each as TAP lines.
#
# The scripts are copied to the build directory (the source tree may be
# read-only) and their npm packages installed there from the committed
# package-lock.json, once, again when the lock changes.  Needs node and
# npm: without them the test is skipped, except under CI, where it fails.
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${NSREG_BUILDDIR:-$srcdir}
here=$srcdir/tests/openapi
work=$builddir/tests/openapi.run

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ -n "$CI" ]; then
		echo "Bail out! node and npm are required (apt-get install nodejs npm)"
		exit 1
	fi
	echo "1..0 # SKIP node and npm are not installed"
	exit 0
fi
mkdir -p "$work" || { echo "Bail out! cannot create $work"; exit 1; }
for f in package.json package-lock.json validate.mjs responses.mjs; do
	cp "$here/$f" "$work/$f" || { echo "Bail out! cannot copy $f"; exit 1; }
done
chmod u+w "$work"/*
if [ ! -d "$work/node_modules/ajv" ] ||
    ! cmp -s "$work/package-lock.json" "$work/node_modules/.nsreg-lock.json"; then
	if ! (cd "$work" && npm ci --no-audit --no-fund >npm.log 2>&1); then
		echo "Bail out! npm ci failed (see $work/npm.log)"
		exit 1
	fi
	cp "$work/package-lock.json" "$work/node_modules/.nsreg-lock.json"
fi
exec node "$work/validate.mjs" "$srcdir/schema/openapi.yaml" \
    "$builddir/server/nsregd"
