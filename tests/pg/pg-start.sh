#!/bin/sh
# pg-start.sh [DIR] - start a private, throwaway PostgreSQL for the tests
# and print its libpq URL on stdout.
#
# The cluster is initdb'ed into DIR (default: a new mktemp directory),
# owned by an unprivileged user (postgres when run as root, through
# runuser), and listens on a unix socket in DIR only: no TCP port, so
# parallel runs never collide.  fsync is off: the cluster dies with the
# run (PG_START_OPTS, server options appended, may set -c fsync=on for a
# benchmark).  Stop it with pg-stop.sh DIR (the directory is the URL's host).
# A DIR that holds a cluster already (stopped by pg-stop.sh --keep) is
# started again as it was: a test stops and starts PostgreSQL under a
# running nsregd that way.
# The binaries come from PG_BINDIR, else Debian's newest
# /usr/lib/postgresql/N/bin, else the PATH.  Exit 77 (automake's "skip")
# when no PostgreSQL server is installed.
set -eu

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && bindir=$d
	done
fi
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then
	bindir=$(dirname "$(command -v initdb)")
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] ||
    [ ! -x "$bindir/pg_ctl" ]; then
	echo "pg-start: no PostgreSQL server (install postgresql)" >&2
	exit 77
fi

dir=${1:-}
if [ -z "$dir" ]; then
	# Short: a unix socket path has about 100 bytes.
	dir=$(mktemp -d /tmp/nsreg-pg.XXXXXX)
fi
mkdir -p "$dir"
chmod 0755 "$dir"

as=""
if [ "$(id -u)" -eq 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		echo "pg-start: running as root without a postgres user" >&2
		exit 1
	fi
	chown postgres "$dir"
	as="runuser -u postgres --"
fi

if [ ! -d "$dir/data" ] &&
    ! $as "$bindir/initdb" -D "$dir/data" -U nsreg -A trust -E UTF8 \
    --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
	echo "pg-start: initdb failed:" >&2
	cat "$dir/initdb.log" >&2
	exit 1
fi
if ! $as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses= -k $dir -c fsync=off -c max_connections=200 ${PG_START_OPTS:-}" \
    start >/dev/null 2>&1; then
	echo "pg-start: PostgreSQL did not start:" >&2
	cat "$dir/server.log" >&2
	exit 1
fi
echo "postgresql:///postgres?host=$dir&user=nsreg"
