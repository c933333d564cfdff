#!/bin/sh
# deb.sh - build the Debian package from the tracked tree
# (dpkg-buildpackage -us -uc -b), check it with lintian (no error, no
# warning), install it into a throwaway root (dpkg -x) and run what it
# installed there: nsregd -n on the installed configuration, with
# throwaway keys made by the installed nsreg-svid, then nsregd serving on
# a copy of it.  Speaks TAP.  Not part of make check (it builds the whole
# tree again): .ci/run runs it and counts it.  Bounded by DEB_TIMEOUT
# seconds (default 1500).  Without dpkg-buildpackage, dh or lintian the
# test is skipped, except under CI, where it fails.
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
limit=${DEB_TIMEOUT:-1500}
n=0
failed=0

ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}
indent() { sed 's/^/# /' "$@"; }

for t in dpkg-buildpackage dh lintian fakeroot; do
	if ! command -v $t >/dev/null 2>&1; then
		if [ -n "$CI" ]; then
			echo "Bail out! $t is required (apt-get install debhelper lintian fakeroot dpkg-dev)"
			exit 1
		fi
		echo "1..0 # SKIP $t is not installed"
		exit 0
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nsreg-deb.XXXXXX") ||
    { echo "Bail out! mktemp"; exit 1; }
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
tree=$tmp/nsreg
mkdir -p "$tree"

echo "1..12"
# The tracked tree (without git: a copy cleaned of any build).
if git -C "$srcdir" ls-files -z >/dev/null 2>&1; then
	(cd "$srcdir" && git ls-files -z | xargs -0 tar -cf -) |
	    tar -xf - -C "$tree"
else
	(cd "$srcdir" && tar --exclude=./build-san -cf - .) | tar -xf - -C "$tree"
	(cd "$tree" && [ -f Makefile ] && make -s distclean >/dev/null 2>&1)
fi
(cd "$tree" && DEB_BUILD_OPTIONS="parallel=2 ${DEB_BUILD_OPTIONS:-}" \
    timeout "$limit" dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1
st=$?
[ $st -ne 0 ] && tail -30 "$tmp/build.log" | indent
ok $st "dpkg-buildpackage -us -uc -b"
deb=$(ls "$tmp"/nsreg_*.deb 2>/dev/null | head -1)
[ -n "$deb" ]
ok $? "it made nsreg_*.deb"
if [ -z "$deb" ]; then
	while [ $n -lt 12 ]; do ok 1 "(no package)"; done
	exit 0
fi

timeout 600 lintian --fail-on error,warning --display-info "$deb" \
    >"$tmp/lintian" 2>&1
st=$?
grep -v 'running with root privileges' "$tmp/lintian" | indent
ok $st "lintian: no error, no warning"

root=$tmp/root
dpkg -x "$deb" "$root"
missing=""
for f in usr/sbin/nsregd usr/bin/nsreg-svid usr/bin/nsreg-policy \
    etc/nsreg/nsregd.conf lib/systemd/system/nsregd.service \
    usr/share/man/man8/nsregd.8.gz usr/share/man/man5/nsregd.conf.5.gz \
    usr/share/man/man7/nsreg-api.7.gz usr/share/man/man1/nsreg-svid.1.gz \
    usr/share/doc/nsreg/copyright; do
	[ -e "$root/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] || echo "# missing:$missing"
[ -z "$missing" ]
ok $? "the package installs the programs, pages, unit and configuration"

dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/nsreg/nsregd.conf "$tmp/control/conffiles"
ok $? "/etc/nsreg/nsregd.conf is a conffile"
grep -q 'adduser .*--system --group' "$tmp/control/postinst" &&
    grep -q -- '--home /var/lib/nsreg' "$tmp/control/postinst"
ok $? "postinst creates the nsreg system user"
# postrm removes /var/lib/nsreg under "purge" only: run it with a
# stand-in for rm on every action dpkg may give it.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\necho "rm $*" >>"%s/rm.log"\n' "$tmp" >"$tmp/bin/rm"
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/deb-systemd-helper"
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/systemctl"
chmod +x "$tmp/bin/"*
: >"$tmp/rm.log"
for a in remove upgrade failed-upgrade abort-install abort-upgrade \
    disappear; do
	PATH=$tmp/bin:$PATH DPKG_MAINTSCRIPT_PACKAGE=nsreg \
	    sh "$tmp/control/postrm" $a 1.0 >/dev/null 2>&1
done
keep=$(grep -c /var/lib/nsreg "$tmp/rm.log")
PATH=$tmp/bin:$PATH DPKG_MAINTSCRIPT_PACKAGE=nsreg \
    sh "$tmp/control/postrm" purge >/dev/null 2>&1
purge=$(grep -c /var/lib/nsreg "$tmp/rm.log")
[ "$keep" -eq 0 ] && [ "$purge" -eq 1 ]
ok $? "postrm removes /var/lib/nsreg on purge only"

# Throwaway identities, made by the installed nsreg-svid, where the
# installed configuration expects them (relative to its folder).
etc=$root/etc/nsreg
ca=$tmp/ca
mkdir -p "$ca"
"$root/usr/bin/nsreg-svid" -d "$ca" ca example.org >/dev/null 2>&1 &&
    "$root/usr/bin/nsreg-svid" -d "$ca" x509 spiffe://example.org/nsregd \
    --dns localhost --ip 127.0.0.1 -o "$etc/server.pem" \
    -k "$etc/server.key" >/dev/null 2>&1 &&
    "$root/usr/bin/nsreg-svid" -d "$ca" bundle -o "$etc/bundle.json" \
    >/dev/null 2>&1 &&
    "$root/usr/bin/nsreg-svid" -d "$ca" bundle --format pem \
    -o "$ca/bundle.pem" >/dev/null 2>&1
ok $? "the installed nsreg-svid makes the keys the configuration names"
"$root/usr/sbin/nsregd" -n -f "$etc/nsregd.conf" >"$tmp/check" 2>&1
st=$?
indent "$tmp/check"
ok $st "the installed nsregd -n accepts the installed configuration"

# Serving: the installed configuration with a database and port of the
# throwaway root (not the host's /var/lib/nsreg).
port=$(( 20000 + $$ % 20000 ))
sed -e "s|^database .*|database sqlite:$root/nsreg.db|" \
    -e "s|^listen .*|listen https 127.0.0.1:$port|" \
    "$etc/nsregd.conf" >"$etc/serve.conf"
NOTIFY_SOCKET= "$root/usr/sbin/nsregd" -d -f "$etc/serve.conf" \
    >"$tmp/serve.log" 2>&1 &
pid=$!
code=000
i=0
while [ $i -lt 100 ]; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca/bundle.pem" \
	    "https://localhost:$port/readyz" 2>/dev/null)
	[ "$code" = 200 ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
[ "$code" = 200 ]
st=$?
[ $st -ne 0 ] && indent "$tmp/serve.log"
ok $st "the installed nsregd serves (GET /readyz: $code)"
kill "$pid" 2>/dev/null
wait "$pid"
st=$?
pid=""
ok $st "it stops cleanly on SIGTERM"

if command -v systemd-analyze >/dev/null 2>&1; then
	score=$(systemd-analyze security --offline=true \
	    "$root/lib/systemd/system/nsregd.service" 2>&1 |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
	ok $? "the installed unit's exposure: ${score:-none} <= 2.0"
else
	n=$((n + 1))
	echo "ok $n - the installed unit's exposure # SKIP no systemd-analyze"
fi
exit 0
