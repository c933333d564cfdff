#!/bin/sh
# bootstrap.sh - install what nsreg needs on Debian 12, then build it.
#
# Installs, when missing (as root, or through sudo), the packages README
# lists with the reason for each: the toolchain and autotools; the
# libraries nsregd links (libmicrohttpd, GnuTLS, SQLite, libpq, jansson,
# OpenSSL, libcurl); nghttp2 for the next steps; protobuf-c for the NSM
# registry protocol (protoc-c generates C from proto/ at build time);
# what only "make check" needs (Criterion, libjwt as a second verifier,
# mandoc, jq, xxd, git,
# Node.js with npm for the CEL conformance suite and the OpenAPI checks,
# the PostgreSQL server for the storage suite's PostgreSQL run,
# Chromium for the console's browser test, python3-h2 for the HTTP/2
# attack tests);
# clang with libFuzzer's runtime for "make fuzz"; dpkg-dev, debhelper,
# fakeroot and lintian for the Debian package test (tests/pkg/deb.sh, run
# by .ci/run); curl, openssl and tzdata for the quick start and rules.
# Then: autoreconf -fi && ./configure && make -j2.
# Arguments are passed to ./configure (e.g. --enable-sanitizers).
set -eu

cd "$(dirname "$0")"

pkgs="build-essential autoconf automake libtool pkg-config make
libmicrohttpd-dev libgnutls28-dev libsqlite3-dev libjansson-dev libssl-dev
libcurl4-openssl-dev libpq-dev libnghttp2-dev
protobuf-c-compiler libprotobuf-c-dev
libcriterion-dev libjwt-dev mandoc jq xxd git chromium libnss3-tools
python3-h2
clang libclang-rt-14-dev
dpkg-dev debhelper fakeroot lintian
curl openssl ca-certificates tzdata
postgresql"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# Node.js may come from elsewhere (nodesource bundles npm): ask only for
# what is not on the PATH.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
	echo "bootstrap: installing:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "bootstrap: run as root to install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing
fi

autoreconf -fi
./configure "$@"
make -j2
