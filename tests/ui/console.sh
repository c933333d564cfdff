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
#
# The sign-in by client certificate runs a second and third Chromium,
# each with an NSS database (certutil and pk12util, libnss3-tools) in a
# HOME of its own holding one X.509-SVID: an admin's, then a workload's.
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$srcdir/tests/nsregd-lib.sh"
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
sh "$srcdir/tests/npm-ci.sh" "$srcdir/tests/ui" "$work" puppeteer-core \
    package.json package-lock.json console.mjs || exit 1

# Two free ports in a row: --dev serves HTTP/2 on the next one.
port=$(two_ports) || { echo "Bail out! no free ports"; exit 1; }
dev=$work/dev
rm -rf "$dev"
# The dev directory first (nsregd -n writes it), then what the test adds:
# an admin known by its SVID, and a fixed instance name.
if ! "$nsregd" --dev "$dev" --port "$port" -n >"$work/nsregd.log" 2>&1 ||
    ! printf 'admin spiffe://example.org/ops\ninstance-name console-ui\n' \
    >>"$dev/nsregd.conf" ||
    ! "$builddir/server/nsreg-svid" -d "$dev" x509 \
    spiffe://example.org/ops --ttl 2h -o "$dev/ops.pem" -k "$dev/ops.key" \
    >>"$work/nsregd.log" 2>&1; then
	echo "Bail out! cannot prepare $dev (see $work/nsregd.log)"
	exit 1
fi
# One NSS database per browser identity (Chromium reads $HOME/.pki/nssdb).
nss=""
if command -v certutil >/dev/null 2>&1 &&
    command -v pk12util >/dev/null 2>&1; then
	nss=$work/nss
	rm -rf "$nss"
	for who in ops client; do
		db=$nss/$who/.pki/nssdb
		mkdir -p "$db" &&
		    openssl pkcs12 -export -in "$dev/$who.pem" \
		    -inkey "$dev/$who.key" -name "$who" -passout pass:nsreg \
		    -out "$nss/$who.p12" &&
		    certutil -N -d "sql:$db" --empty-password &&
		    pk12util -i "$nss/$who.p12" -d "sql:$db" -W nsreg \
		    >/dev/null || {
			echo "Bail out! cannot make the NSS database $db"
			exit 1
		}
	done
elif [ -n "$CI" ]; then
	echo "Bail out! certutil and pk12util are required (libnss3-tools)"
	exit 1
fi
"$nsregd" --dev "$dev" --port "$port" >>"$work/nsregd.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT INT TERM
nsregd_ready "$pid" "https://127.0.0.1:$port" "$dev/bundle.pem" \
    "$work/nsregd.log"

# The script restarts the server once (a watch stream drops and resumes):
# it stops $pid and runs its own, which it stops at the end.
NSREG_URL="https://127.0.0.1:$port" NSREG_DEV="$dev" CHROMIUM="$chromium" \
    NSREG_H2_URL="https://127.0.0.1:$((port + 1))" \
    SHOTS="$work/shots" NSREGD="$nsregd" NSREGD_PID="$pid" \
    NSREGD_LOG="$work/nsregd.log" NSREG_NSS="$nss" WORK="$work" \
    node "$work/console.mjs"
rc=$?
# The first server (console.mjs stops it with SIGTERM when it restarts;
# stopped here when it did not get that far) exits 0 on a graceful stop:
# under the sanitizer build, a leak or undefined behaviour in nsregd fails
# the suite, with the end of its log.  console.mjs checks its own.
trap - EXIT INT TERM
nsregd_stopped "$pid" "$work/nsregd.log"
exit $rc
