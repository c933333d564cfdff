#!/bin/sh
# cli.sh - nsreg-policy as an operator uses it: outputs and exit codes of
# check, eval and test (TAP).
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${NSREG_BUILDDIR:-$srcdir}
np=$builddir/policy/nsreg-policy
data=$srcdir/tests/policy
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

echo "1..19"

# expect NAME WANT_RC WANT_OUTPUT_SUBSTRING -- COMMAND...
expect() {
	name=$1 want_rc=$2 want_out=$3
	shift 4
	n=$((n + 1))
	"$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -eq "$want_rc" ] && grep -qF -- "$want_out" "$tmp/out"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		echo "#   exit $rc (want $want_rc), output:"
		sed 's/^/#   /' "$tmp/out" | head -20
		fails=$((fails + 1))
	fi
}

cat >"$tmp/rules.json" <<'JSON'
[
 {"name": "same-td", "effect": "permit", "actions": ["find", "connect"],
  "condition": "principal.trust_domain == 'example.org'"},
 {"name": "no-tmp", "effect": "forbid", "actions": ["connect"], "services": ["db"],
  "condition": "principal.segments[1] == 'tmp'"}
]
JSON
cat >"$tmp/allow.json" <<'JSON'
{"principal": {"id": "spiffe://example.org/ns/prod/sa/x"}, "action": "connect",
 "service": {"name": "db"}, "now": "2025-01-01T00:00:00Z"}
JSON
cat >"$tmp/deny.json" <<'JSON'
{"principal": {"id": "spiffe://example.org/ns/tmp/sa/x"}, "action": "connect",
 "service": {"name": "db"}}
JSON
printf '[{"name": "a", "effect": "permit", "actions": ["find"],\n  "condition": "principal.id ==\\n  )"}]\n' >"$tmp/bad.json"
printf '{"rules": [}' >"$tmp/broken.json"
cat >"$tmp/cases-fail.json" <<'JSON'
[{"name": "wrong on purpose", "input": {"action": "find",
  "principal": {"id": "spiffe://other.org/x"}},
  "expect": {"decision": "allow", "reasons": ["same-td"]}}]
JSON

expect "check accepts a valid rule set" 0 "2 rules OK" -- \
    "$np" check "$tmp/rules.json"
expect "check reports a condition error with line:column" 1 \
    "[0].condition: 2:3: syntax error: unexpected ')'" -- \
    "$np" check "$tmp/bad.json"
expect "check reports malformed JSON with its position" 2 "broken.json:1:12:" -- \
    "$np" check "$tmp/broken.json"
expect "check reads stdin" 0 "1 rule OK" -- sh -c \
    "echo '[{\"name\":\"x\",\"effect\":\"forbid\",\"actions\":[\"find\"]}]' | '$np' check -"
expect "check on a missing file" 2 "nosuch.json" -- \
    "$np" check "$tmp/nosuch.json"
expect "eval prints an allow and exits 0" 0 \
    '{"decision":"allow","reasons":["same-td"],"errors":[],"audit":[]}' -- \
    "$np" eval "$tmp/rules.json" "$tmp/allow.json"
expect "eval prints a deny and exits 1" 1 \
    '{"decision":"deny","reasons":["no-tmp"],"errors":[],"audit":[]}' -- \
    "$np" eval "$tmp/rules.json" "$tmp/deny.json"
expect "eval refuses an input with an unknown field" 2 "principal.name: unknown field" -- \
    sh -c "echo '{\"action\":\"find\",\"principal\":{\"name\":1}}' | '$np' eval '$tmp/rules.json' -"
expect "eval refuses an invalid rule set" 2 "[0].condition" -- \
    "$np" eval "$tmp/bad.json" "$tmp/allow.json"
expect "test passes the combining table" 0 "13 passed, 0 failed" -- \
    "$np" test "$data/combining.json" "$data/combining.json"
expect "test passes the use-case table" 0 "13 passed, 0 failed" -- \
    "$np" test "$data/usecases.json" "$data/usecases.json"
expect "test passes the request.origin table" 0 "8 passed, 0 failed" -- \
    "$np" test "$data/origin.json" "$data/origin.json"
expect "test passes the network functions' table" 0 "6 passed, 0 failed" -- \
    "$np" test "$data/net-rules.json" "$data/net-rules.json"
cat >"$tmp/net-bad.json" <<'JSON'
[{"name": "private", "effect": "forbid", "actions": ["register"],
  "condition": "!cidr('10.0.0.0/33').containsIP(endpoint.address)"}]
JSON
expect "check refuses a CIDR literal that cannot parse" 1 \
    "[0].condition: 1:2: invalid argument to cidr: network address parse error during conversion from string: prefix length out of range" -- \
    "$np" check "$tmp/net-bad.json"
expect "test reports a mismatch with a diff and exits 1" 1 \
    "#   decision  want \"allow\"" -- \
    "$np" test "$tmp/rules.json" "$tmp/cases-fail.json"
expect "test refuses a case without expect" 2 "needs \"input\"" -- \
    sh -c "echo '[{\"name\":\"x\",\"input\":{\"action\":\"find\"}}]' | '$np' test '$tmp/rules.json' -"
expect "no arguments is a usage error" 2 "usage:" -- "$np"
expect "unknown command is a usage error" 2 "usage:" -- "$np" frobnicate x
expect "conformance answers one JSON line per request" 0 \
    '{"value":{"int64Value":"3"},"id":7}' -- sh -c \
    "echo '{\"id\":7,\"expr\":\"1 + 2\",\"bindings\":{}}' | '$np' conformance"
exit 0
