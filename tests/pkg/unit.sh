#!/bin/sh
# unit.sh - the systemd unit and the example configuration that make
# install installs: every configured path substituted, the hardening
# directives present, "systemd-analyze security" rating the unit 2.0 or
# lower (OK), "systemd-analyze verify" accepting it, and the example
# configuration passing "nsregd -n" once the files it names exist.
# The systemd-analyze checks are skipped where the tool is absent.
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${NSREG_BUILDDIR:-$srcdir}
unit=$builddir/etc/nsregd.service
conf=$builddir/etc/nsregd.conf
n=0
fail=0

ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

tmp=$(mktemp -d) || { echo "Bail out! mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
for f in "$unit" "$conf"; do
	[ -f "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done

echo "1..28"
! grep -n '@[a-z]*@' "$unit" "$conf" >"$tmp/at"
ok $? "no @variable@ left unsubstituted"

# The directives the unit promises (issue 15 and nsregd(8)).
for d in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'Restart=on-failure' 'User=nsreg' 'StateDirectory=nsreg' \
    'ConfigurationDirectory=nsreg' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' \
    'NoNewPrivileges=yes' 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' \
    'SystemCallFilter=@system-service' 'SystemCallArchitectures=native' \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
    'MemoryDenyWriteExecute=yes' 'ProtectProc=invisible' 'UMask=0077'; do
	grep -qxF "$d" "$unit"
	ok $? "unit: $d"
done
grep -q '^ExecStart=.*/nsregd -d -f .*/nsreg/nsregd.conf$' "$unit"
ok $? "unit: nsregd in the foreground on the installed configuration"
grep -q '^AmbientCapabilities=' "$unit"
[ $? -ne 0 ]
ok $? "unit: no ambient capabilities (the default port is 8443)"

if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze security --offline=true "$unit" >"$tmp/security" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
	    "$tmp/security")
	echo "# exposure: ${score:-none}"
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
	ok $? "systemd-analyze security: exposure $score <= 2.0"
	# verify wants the executables to exist: the built nsregd.
	sed -e "s|^\(Exec[A-Za-z]*=\)[^ ]*/nsregd |\1$builddir/server/nsregd |" \
	    "$unit" >"$tmp/nsregd.service"
	systemd-analyze verify --man=no "$tmp/nsregd.service" >"$tmp/verify" 2>&1
	st=$?
	sed 's/^/# /' "$tmp/verify"
	[ $st -eq 0 ] && [ ! -s "$tmp/verify" ]
	ok $? "systemd-analyze verify: no complaint"
else
	skip "systemd-analyze security" "systemd-analyze is not installed"
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

# The example configuration, with the files it names made by nsreg-svid.
cp "$conf" "$tmp/nsregd.conf"
svid=$builddir/server/nsreg-svid
"$svid" -d "$tmp" ca example.org >/dev/null 2>&1 &&
    "$svid" -d "$tmp" x509 spiffe://example.org/nsregd --dns localhost \
    -o "$tmp/server.pem" -k "$tmp/server.key" >/dev/null 2>&1 &&
    "$svid" -d "$tmp" bundle -o "$tmp/bundle.json" >/dev/null 2>&1
ok $? "nsreg-svid makes the example's certificate, key and bundle"
"$builddir/server/nsregd" -n -f "$tmp/nsregd.conf" >"$tmp/check" 2>&1
st=$?
sed 's/^/# /' "$tmp/check"
ok $st "nsregd -n accepts the example configuration"
rm -f "$tmp/server.key"
"$builddir/server/nsregd" -n -f "$tmp/nsregd.conf" >"$tmp/check" 2>&1
[ $? -ne 0 ] && grep -q 'server.key' "$tmp/check"
ok $? "nsregd -n names the missing key"
grep -q '^database sqlite:/.*/lib/nsreg/nsreg.db$' "$conf"
ok $? "the example keeps its database under localstatedir/lib/nsreg"
grep -q '^#' "$conf" && [ "$(grep -c '^#' "$conf")" -ge 20 ]
ok $? "the example is annotated"
exit 0
