#!/bin/sh
# tests/pg/cluster.sh - events and caches across instances on PostgreSQL:
# several stores on one database (tests/unit/test_store_follow), then
# three nsregd on one database (tests/integration/test_cluster_pg), the
# way tests/pg/store.sh runs its suites (NSREG_TEST_PG, else a private
# server), as a test of its own so that make check runs it beside
# store.sh.
NSREG_PG_SUITES="unit/test_store_follow integration/test_cluster_pg"
export NSREG_PG_SUITES
exec sh "$(dirname "$0")/store.sh"
