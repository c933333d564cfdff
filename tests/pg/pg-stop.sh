#!/bin/sh
# pg-stop.sh [--keep] DIR - stop the PostgreSQL pg-start.sh started in
# DIR (or named by the host= of a URL it printed) and remove DIR; with
# --keep, stop it (immediately, as a crash would) and keep DIR, so that
# pg-start.sh DIR starts it again.
set -u

keep=0
if [ "${1:-}" = "--keep" ]; then
	keep=1
	shift
fi
dir=${1:?usage: pg-stop.sh [--keep] DIR|URL}
case $dir in
postgres*://*host=*)
	dir=${dir#*host=}
	dir=${dir%%&*}
	;;
esac
case $dir in
/tmp/*|"${TMPDIR:-/nonexistent}"/*) ;;
*)	echo "pg-stop: $dir is not a pg-start.sh directory" >&2
	exit 1 ;;
esac
[ -d "$dir/data" ] || { rm -rf "$dir"; exit 0; }

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && bindir=$d
	done
fi
[ -n "$bindir" ] || bindir=$(dirname "$(command -v pg_ctl)")
as=""
[ "$(id -u)" -eq 0 ] && as="runuser -u postgres --"
$as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
[ $keep -eq 1 ] || rm -rf "$dir"
exit 0
