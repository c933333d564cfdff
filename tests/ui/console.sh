#!/bin/sh
# console.sh - drive the operator console (/ui/) in headless Chromium
# with puppeteer-core against a live "nsregd --dev" on a free port, one
# TAP line per check (tests/ui/console.mjs).  Screenshots of every view go
# to $builddir/tests/ui.run/shots/ for a person to look at.
#
# Skipped (TAP skip) only when Chromium is not installed; bootstrap.sh
# installs it, and under CI its absence fails.  Needs node (18 or later)
# and npm; puppeteer-core is installed into the build directory from
# tests/ui/package-lock.json once.
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${NSREG_BUILDDIR:-$srcdir}
work=$builddir/tests/ui.run
nsregd=$builddir/server/nsregd

chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
	for c in chromium chromium-browser; do
		if command -v "$c" >/dev/null 2>&1; then
			chromium=$(command -v "$c")
			break
		fi
	done
fi
if [ -z "$chromium" ]; then
	if [ -n "$CI" ]; then
		echo "Bail out! chromium is required (apt-get install chromium)"
		exit 1
	fi
	echo "1..0 # SKIP chromium is not installed"
	exit 0
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 ||
    ! command -v curl >/dev/null 2>&1; then
	echo "Bail out! node, npm and curl are required"
	exit 1
fi
if [ ! -x "$nsregd" ]; then
	echo "Bail out! $nsregd not built"
	exit 1
fi

mkdir -p "$work/shots" || { echo "Bail out! cannot create $work"; exit 1; }
for f in package.json package-lock.json console.mjs; do
	cp "$srcdir/tests/ui/$f" "$work/$f" || {
		echo "Bail out! cannot copy $f"; exit 1; }
done
chmod u+w "$work"/*
if [ ! -d "$work/node_modules/puppeteer-core" ] ||
    ! cmp -s "$work/package-lock.json" \
    "$work/node_modules/.nsreg-package-lock.json"; then
	if ! (cd "$work" && npm ci --no-audit --no-fund >npm.log 2>&1); then
		echo "Bail out! npm ci failed (see $work/npm.log)"
		exit 1
	fi
	cp "$work/package-lock.json" "$work/node_modules/.nsreg-package-lock.json"
fi

port=$(node -e 'const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
dev=$work/dev
rm -rf "$dev"
"$nsregd" --dev "$dev" --port "$port" >"$work/nsregd.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT INT TERM
i=0
until curl -sf --cacert "$dev/bundle.pem" "https://127.0.0.1:$port/readyz" \
    >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "Bail out! nsregd did not start (see $work/nsregd.log)"
		exit 1
	fi
	sleep 0.1
done

# The script restarts the server once (a watch stream drops and resumes):
# it stops $pid and runs its own, which it stops at the end.
NSREG_URL="https://127.0.0.1:$port" NSREG_DEV="$dev" CHROMIUM="$chromium" \
    SHOTS="$work/shots" NSREGD="$nsregd" NSREGD_PID="$pid" \
    NSREGD_LOG="$work/nsregd.log" node "$work/console.mjs"
