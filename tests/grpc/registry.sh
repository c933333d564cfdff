#!/bin/sh
# registry.sh - NSM's registry protocol (gRPC) against a live
# "nsregd --dev" on free ports, driven by @grpc/grpc-js and
# @grpc/proto-loader loading proto/registry.proto
# (tests/grpc/registry.mjs), one TAP line per check.  The npm packages
# are installed into the build directory from tests/grpc/package-lock.json
# once.
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$srcdir/tests/nsregd-lib.sh"
builddir=${NSREG_BUILDDIR:-$srcdir}
work=$builddir/tests/grpc.run
nsregd=$builddir/server/nsregd
svid=$builddir/server/nsreg-svid

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 ||
    ! command -v curl >/dev/null 2>&1; then
	echo "Bail out! node, npm and curl are required"
	exit 1
fi
if [ ! -x "$nsregd" ] || [ ! -x "$svid" ]; then
	echo "Bail out! $nsregd or $svid not built"
	exit 1
fi

sh "$srcdir/tests/npm-ci.sh" "$srcdir/tests/grpc" "$work" @grpc/grpc-js \
    package.json package-lock.json registry.mjs || exit 1

# Two free consecutive ports: https on the first, h2 on the next.
port=$(two_ports) || { echo "Bail out! no free ports"; exit 1; }
dev=$work/dev
rm -rf "$dev"
"$nsregd" --dev "$dev" --port "$port" >"$work/nsregd.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT INT TERM
nsregd_ready "$pid" "https://127.0.0.1:$port" "$dev/bundle.pem" \
    "$work/nsregd.log"
if ! "$svid" -d "$dev" x509 spiffe://example.org/ns/default/sa/other \
    -o "$work/other.pem" -k "$work/other.key" >"$work/svid.log" 2>&1; then
	echo "Bail out! nsreg-svid failed (see $work/svid.log)"
	exit 1
fi

NSREG_URL="https://127.0.0.1:$port" NSREG_H2="127.0.0.1:$((port + 1))" \
    NSREG_DEV="$dev" NSREG_PROTO="$srcdir/proto" \
    OTHER_CERT="$work/other.pem" OTHER_KEY="$work/other.key" \
    node "$work/registry.mjs"
rc=$?
# A graceful stop exits 0: under the sanitizer build, a leak or undefined
# behaviour in nsregd fails the suite, with the end of its log.
trap - EXIT INT TERM
nsregd_stopped "$pid" "$work/nsregd.log"
exit $rc
