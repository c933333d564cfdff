#!/bin/sh
# tests/pg/store.sh - the storage suite (tests/unit/test_store, and the
# leases suite with the address unit tests of tests/unit/test_ipam)
# against PostgreSQL, the plans of its statements (test_pg_explain), then
# nsregd --import both ways (test_import) and two nsregd on one database
# (tests/integration/test_cluster): the database at NSREG_TEST_PG when set (CI starts one), else
# a private one started here with pg-start.sh and stopped whatever
# happens; skipped when no PostgreSQL server is installed.
set -u
top=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${NSREG_BUILDDIR:-$top}
dir=""

if [ -z "${NSREG_TEST_PG:-}" ]; then
	url=$(sh "$top/tests/pg/pg-start.sh")
	rc=$?
	if [ "$rc" -eq 77 ]; then
		echo "1..0 # SKIP no PostgreSQL server installed"
		exit 0
	fi
	if [ "$rc" -ne 0 ] || [ -z "$url" ]; then
		echo "Bail out! could not start PostgreSQL"
		exit 1
	fi
	dir=${url#*host=}
	dir=${dir%%&*}
	trap 'sh "$top/tests/pg/pg-stop.sh" "$dir"' EXIT
	trap 'exit 1' HUP INT TERM
	NSREG_TEST_PG=$url
fi
NSREG_TEST_STORE=postgresql
export NSREG_TEST_PG NSREG_TEST_STORE
# One TAP stream: the two programs' plans summed, then their cases.
# (Criterion reopens /dev/stdout: through a pipe, not onto a file.)
out=$(mktemp)
trap 'rm -f "$out" "$out.rc"; [ -z "$dir" ] || sh "$top/tests/pg/pg-stop.sh" "$dir"' EXIT
status=0
# NSREG_PG_SUITES: another list (tests/pg/cluster.sh runs its own beside).
for t in ${NSREG_PG_SUITES:-unit/test_store unit/test_ipam \
    unit/test_pg_explain integration/test_cluster integration/test_import \
    integration/test_cluster_ops}; do
	{ sh "$top/tests/criterion-tap" "$build/tests/$t"; \
	    echo $? >"$out.rc"; } | cat >>"$out"
	[ "$(cat "$out.rc")" = 0 ] || status=1
done
n=$(grep -c '^\(not \)\{0,1\}ok ' "$out")
echo "1..$n"
grep '^\(not \)\{0,1\}ok \|^  \|^#' "$out"
exit $status
