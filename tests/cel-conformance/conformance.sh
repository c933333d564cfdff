#!/bin/sh
# conformance.sh - run the CEL conformance suite (extended profile: the
# admission files plus string_ext, optionals, bindings_ext, macros2)
# against nsreg-policy and report every case as a TAP line.
#
# The harness is copied to the build directory (the source tree may be
# read-only) and its npm dependencies installed there once.  A case that
# fails and is not listed in tests/cel-known-failures fails the test.
# Needs node (18 or later) and npm; without them the test is skipped,
# except under CI, where it fails.
#
# floor is the number of cases that must pass: it only rises.  Raise it
# when a change makes more cases pass; a run below it fails (a case
# answered "unsupported" is not a failure, but does not count either).
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${NSREG_BUILDDIR:-$srcdir}
harness=$srcdir/tests/cel-conformance
work=$builddir/tests/cel-conformance.run
known=$srcdir/tests/cel-known-failures
evaluator=$builddir/policy/nsreg-policy
profile=extended
floor=1394

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ -n "$CI" ]; then
		echo "Bail out! node and npm are required (apt-get install nodejs npm)"
		exit 1
	fi
	echo "1..0 # SKIP node and npm are not installed"
	exit 0
fi
if [ ! -x "$evaluator" ]; then
	echo "Bail out! $evaluator not built"
	exit 1
fi

mkdir -p "$work" || { echo "Bail out! cannot create $work"; exit 1; }
for f in README.md package.json run.mjs count.mjs tap.mjs; do
	cp "$harness/$f" "$work/$f" || { echo "Bail out! cannot copy $f"; exit 1; }
done
rm -rf "$work/lib" "$work/adapters"
cp -R "$harness/lib" "$harness/adapters" "$work/" || {
	echo "Bail out! cannot copy the harness"; exit 1; }
chmod -R u+w "$work"

# Install once; reinstall when package.json changes.
if [ ! -d "$work/node_modules/@bufbuild/cel-spec" ] ||
    ! cmp -s "$work/package.json" "$work/node_modules/.nsreg-package.json"; then
	if ! (cd "$work" && npm install --no-audit --no-fund >npm.log 2>&1); then
		echo "Bail out! npm install failed (see $work/npm.log)"
		exit 1
	fi
	cp "$work/package.json" "$work/node_modules/.nsreg-package.json"
fi

rm -f "$work/report.json"
node "$work/run.mjs" --cmd "$evaluator conformance" --profile "$profile" \
    --known-failures "$known" --report "$work/report.json" \
    >"$work/summary.txt" 2>&1
if [ ! -s "$work/report.json" ]; then
	echo "Bail out! the harness wrote no report:"
	sed 's/^/# /' "$work/summary.txt"
	exit 1
fi
node "$work/tap.mjs" "$work/report.json" "$floor" ||
    { echo "Bail out! tap.mjs failed"; exit 1; }
sed 's/^/# /' "$work/summary.txt" | head -40
exit 0
