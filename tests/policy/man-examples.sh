#!/bin/sh
# man-examples.sh - every example of the extension libraries in
# nsreg-policy(7) (each .Dl line of its "Extension libraries" section) is
# a condition that holds for one request (TAP).
srcdir=${NSREG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${NSREG_BUILDDIR:-$srcdir}
np=$builddir/policy/nsreg-policy
man=$srcdir/man/nsreg-policy.7
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/input.json" <<'JSON'
{"principal": {"id": "spiffe://example.org/ns/prod/sa/pg",
  "claims": {"groups": ["dba", "ops"], "level": 3, "org": {"dept": "x"}}},
 "action": "connect",
 "service": {"name": "db", "labels": {"tier": "db", "region": "eu"}},
 "endpoint": {"name": "db-1", "url": "tcp://10.0.0.1:5432",
  "labels": {"zone": "eu-1"}},
 "request": {"labels": {"env": "Prod", "team": " ops ", "debug": "true"}}}
JSON

# The examples, with mdoc's escapes undone.
sed -n '/^\.Ss Extension libraries/,/^\.Ss /s/^\.Dl //p' "$man" |
    sed 's/\\(dq/"/g; s/\\e/\\/g' >"$tmp/examples"
total=$(wc -l <"$tmp/examples")
if [ "$total" -lt 40 ]; then
	echo "Bail out! only $total examples in $man"
	exit 1
fi
echo "1..$total"
n=0
while IFS= read -r ex; do
	n=$((n + 1))
	cond=$(printf '%s' "$ex" | sed 's/\\/\\\\/g; s/"/\\"/g')
	printf '[{"name": "example", "effect": "permit", "actions": ' \
	    >"$tmp/rules.json"
	printf '["connect"], "condition": "%s"}]\n' "$cond" >>"$tmp/rules.json"
	"$np" eval "$tmp/rules.json" "$tmp/input.json" >"$tmp/out" 2>&1
	if grep -q '"decision": *"allow"' "$tmp/out"; then
		echo "ok $n - $ex"
	else
		echo "not ok $n - $ex"
		sed 's/^/#   /' "$tmp/out" | head -5
	fi
done <"$tmp/examples"
