#!/bin/sh
# two-companies.sh - the README's cross-company use case, run for real.
# Two companies each run nsregd for their own trust domain with their own
# CA (a.test and b.test, minted here with nsreg-svid; SPIRE in
# production), on loopback.  They federate through each other's
# /v1/bundle (profile https_spiffe) and write rules; a workload of b.test
# then finds db@a.test through its own registry and asks a.test's
# registry for a connection grant, which a.test's rules give, or refuse
# with the reason.
#
# Usage: two-companies.sh [DIR]	(default: a new temporary directory,
# removed at the end; a DIR given is kept, with both servers' logs).
# Speaks TAP.  NSREG_BUILDDIR is the build directory (default: .).
set -u
bin=${NSREG_BUILDDIR:-.}/server
keep=0
if [ $# -gt 0 ]; then
	work=$1
	keep=1
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/nsreg-two-companies.XXXXXX")
fi
work=$(cd "$work" && pwd)
n=0
fails=0
pids=""

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ $keep -eq 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

ok() {		# ok DESCRIPTION: the last check held
	n=$((n + 1))
	echo "ok $n - $1"
}
notok() {	# notok DESCRIPTION DETAIL
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $1"
	echo "# $2" | head -c 2000
	echo
}
bail() {
	echo "Bail out! $1"
	exit 1
}

. "${NSREG_SRCDIR:-.}/tests/federation/companies.sh"

# call CRED METHOD URL [BODY]: CRED is admin:TD (that company's admin
# token) or TD/NAME (the workload certificate $work/TD/NAME.pem).  Every
# server's certificate is trusted through ca-both.pem.  Sets $status and
# $body.
call() {
	cred=$1 method=$2 u=$3 data=${4:-}
	case $cred in
	admin:*)
		set -- -H "Authorization: Bearer $(cat \
		    "$work/${cred#admin:}/admin.token")" ;;
	*)
		set -- --cert "$work/$cred.pem" --key "$work/$cred.key" ;;
	esac
	[ -z "$data" ] ||
	    set -- "$@" -H 'Content-Type: application/json' -d "$data"
	status=$(curl -s -o "$work/body" -w '%{http_code}' \
	    --cacert "$work/ca-both.pem" "$@" -X "$method" "$u")
	body=$(cat "$work/body")
}

expect() {	# expect DESCRIPTION STATUS [TEXT...]: the last answer
	desc=$1
	want=$2
	shift 2
	if [ "$status" != "$want" ]; then
		notok "$desc" "status $status, want $want: $body"
		return
	fi
	for t in "$@"; do
		case $body in
		*"$t"*) ;;
		*)	notok "$desc" "no $t in: $body"
			return ;;
		esac
	done
	ok "$desc"
}

command -v curl >/dev/null 2>&1 || bail "curl is not installed"
command -v openssl >/dev/null 2>&1 || bail "openssl is not installed"
echo "1..18"

company "$work/a.test" a.test || bail "cannot set up a.test"
company "$work/b.test" b.test || bail "cannot set up b.test"
# a.test's database workload, b.test's web frontend.
"$bin/nsreg-svid" -d "$work/a.test" x509 spiffe://a.test/ns/db/sa/pg \
    -o "$work/a.test/pg.pem" -k "$work/a.test/pg.key" || bail "pg SVID"
"$bin/nsreg-svid" -d "$work/b.test" x509 spiffe://b.test/ns/web/sa/frontend \
    -o "$work/b.test/frontend.pem" -k "$work/b.test/frontend.key" ||
    bail "frontend SVID"
cat "$work/a.test/bundle.pem" "$work/b.test/bundle.pem" > "$work/ca-both.pem"
start "$work/a.test" a.test ||
    bail "nsregd for a.test did not start: $startlog"
pids="$pids $startpid"
A=$url
apid=$startpid
start "$work/b.test" b.test ||
    bail "nsregd for b.test did not start: $startlog"
pids="$pids $startpid"
B=$url
bpid=$startpid
echo "# a.test: $A, b.test: $B, files in $work"

# 1. Each company's own workloads may use its registry.
for td in a.test b.test; do
	[ $td = b.test ] && u=$B || u=$A
	call admin:$td PUT "$u/v1/policies/local" '{"effect":"permit",
	    "actions":["find","register","unregister","publish"],
	    "condition":"principal.trust_domain == '"'$td'"'"}'
	expect "$td: a rule for its own workloads" 201
done

# 2. Federation: each stores the other's trust domain with its bundle
# endpoint (a first bundle comes out of band), b.test also a.test's
# registry.
call admin:a.test PUT "$A/v1/trust-domains/b.test" \
    '{"bundle":'"$(cat "$work/b.test/bundle.json")"',
      "federation":{"bundle_endpoint_url":"'"$B"'/v1/bundle",
        "profile":"https_spiffe","endpoint_spiffe_id":"spiffe://b.test/nsregd"}}'
expect "a.test federates with b.test" 201 '"profile":"https_spiffe"'
call admin:b.test PUT "$B/v1/trust-domains/a.test" \
    '{"bundle":'"$(cat "$work/a.test/bundle.json")"',
      "federation":{"bundle_endpoint_url":"'"$A"'/v1/bundle",
        "profile":"https_spiffe","endpoint_spiffe_id":"spiffe://a.test/nsregd"},
      "registry_url":"'"$A"'"}'
expect "b.test federates with a.test and knows its registry" 201 \
    '"registry_url":"https://127.0.0.1:'
call admin:a.test POST "$A/v1/trust-domains/b.test/refresh"
expect "a.test fetches b.test's bundle" 200 '"last_error":null'
call admin:b.test POST "$B/v1/trust-domains/a.test/refresh"
expect "b.test fetches a.test's bundle" 200 '"last_error":null'

# 3. a.test publishes db; its pg workload registers db-1.
call admin:a.test PUT "$A/v1/services/db" '{"labels":{"tier":"data"}}'
expect "a.test publishes db" 201
call a.test/pg PUT "$A/v1/endpoints/db-1" \
    '{"url":"tcp://10.0.0.1:5432","network_service_names":["db"]}'
expect "a.test's pg registers db-1" 201 '"owner":"spiffe://a.test/ns/db/sa/pg"'

# 4. Before a.test admits b.test: authenticated, not admitted.
call b.test/frontend GET "$B/v1/services/db@a.test"
expect "b.test's frontend is refused db@a.test, with a.test's reason" 403 \
    'registry of a.test refused: find denied'
call b.test/frontend GET "$B/v1/endpoints?service=db@a.test"
expect "and a.test lists none of its endpoints" 200 '"items":[]'

# 5. a.test's rule for its partner: b.test may find and connect to db.
call admin:a.test PUT "$A/v1/policies/partner-b" '{"effect":"permit",
    "actions":["find","connect"],"services":["db"],
    "condition":"principal.trust_domain == '"'b.test'"'"}'
expect "a.test admits b.test to db" 201

# 6. b.test's frontend finds db@a.test through its own registry...
call b.test/frontend GET "$B/v1/endpoints?service=db@a.test"
expect "b.test's frontend finds db-1@a.test" 200 '"name":"db-1@a.test"' \
    '"network_service_names":["db@a.test"]'
call b.test/frontend GET "$B/v1/services/db@a.test"
expect "and the service db@a.test" 200 '"name":"db@a.test"'

# 7. ...and gets a connection grant from a.test's registry.
call b.test/frontend POST "$A/v1/grants" '{"service":"db"}'
expect "a.test grants b.test's frontend a connection to db" 201 \
    '"principal":"spiffe://b.test/ns/web/sa/frontend"' '"token":"'

# 8. Without the rule, the grant is refused with the decision.
call admin:a.test DELETE "$A/v1/policies/partner-b"
call b.test/frontend POST "$A/v1/grants" '{"service":"db"}'
expect "without it, a.test refuses and says why" 403 \
    '"code":"permission_denied"' '"decision":{"decision":"deny"'

# 9. What an operator watches.
call admin:a.test GET "$A/metrics"
expect "a.test counts its fetches of b.test's bundle" 200 \
    'nsreg_bundle_refresh_total{trust_domain="b.test",result="ok"}' \
    'nsreg_bundle_age_seconds{trust_domain="b.test"}'

# 10. A graceful stop exits 0: under the sanitizer build, a leak or
# undefined behaviour in nsregd fails here, with the end of its log.
stopped() {	# stopped PID TD
	kill -TERM "$1"
	wait "$1"
	_st=$?
	if [ "$_st" -eq 0 ]; then
		ok "nsregd for $2 exits 0 on SIGTERM"
	else
		notok "nsregd for $2 exits 0 on SIGTERM" "status $_st"
		tail -n 60 "$work/$2/nsregd.log" | sed 's/^/# /'
	fi
}
stopped "$apid" a.test
stopped "$bpid" b.test
pids=""
[ $fails -eq 0 ]
