#!/bin/sh
# docs-sync.sh - the documentation names what the code has: every
# configuration keyword in nsregd.conf(5), every route in
# schema/openapi.yaml and nsreg-api(7), every error code in both.
# Speaks TAP.
src=${NSREG_SRCDIR:-.}
i=0
fails=0
out=""

check() {	# check DESCRIPTION COMMAND...
	i=$((i + 1))
	desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		out="$out
ok $i - $desc"
	else
		out="$out
not ok $i - $desc"
		fails=$((fails + 1))
	fi
}

for kw in $(sed -n 's/.*{ \.name = "\([a-z-]*\)".*/\1/p' \
    "$src/server/conf.c"); do
	check "nsregd.conf(5) documents $kw" \
	    grep -q "^\.It Ic $kw\( \|$\)" "$src/man/nsregd.conf.5"
done
sed -n 's/.*{ HTTP_\([A-Z]*\), "\([^"]*\)".*/\1 \2/p' \
    "$src/server/route.c" > "${TMPDIR:-/tmp}/nsreg-routes.$$"
while read -r method path; do
	m=$(echo "$method" | tr 'A-Z' 'a-z')
	check "openapi.yaml has $method $path" awk -v p="  $path:" \
	    -v m="    $m:" '$0 == p { inpath = 1; next }
	    /^  [^ ]/ { inpath = 0 } inpath && $0 == m { found = 1 }
	    END { exit !found }' "$src/schema/openapi.yaml"
	stem=${path%%\{*}
	check "nsreg-api(7) documents $method $stem" \
	    grep -q "^\.It Cm $method Pa $stem" "$src/man/nsreg-api.7"
done < "${TMPDIR:-/tmp}/nsreg-routes.$$"
rm -f "${TMPDIR:-/tmp}/nsreg-routes.$$"
for code in $(sed -n 's/.*\[NSREG_[A-Z_]*\] =[[:space:]]*{ "\([a-z_]*\)", [0-9]* }.*/\1/p' \
    "$src/server/error.c" | grep -v '^ok$'); do
	check "nsreg-api(7) lists error $code" \
	    grep -q "^\.It $code Ta" "$src/man/nsreg-api.7"
	check "openapi.yaml lists error $code" \
	    grep -q "\b$code\b" "$src/schema/openapi.yaml"
done
# The gRPC status of each error code (server/grpc.c's table).
sed -n 's/^[[:space:]]*\[NSREG_\([A-Z_]*\)\] = GRPC_\([A-Z_]*\),$/\1 \2/p' \
    "$src/server/grpc.c" > "${TMPDIR:-/tmp}/nsreg-grpc.$$"
while read -r code st; do
	[ "$code" = OK ] && continue
	code=$(echo "$code" | tr 'A-Z' 'a-z')
	check "nsreg-api(7) maps error $code to gRPC $st" \
	    grep -q "^\.It $code Ta [0-9]* Ta $st\$" "$src/man/nsreg-api.7"
done < "${TMPDIR:-/tmp}/nsreg-grpc.$$"
rm -f "${TMPDIR:-/tmp}/nsreg-grpc.$$"
for fn in $(sed -n 's/.*\(PRED\|CONV\)("\([A-Za-z.]*\)".*/\2/p
    s/.*\.name = "\([A-Za-z.]*\)".*/\1/p' "$src/policy/cel_net.c"); do
	check "nsreg-policy(7) documents $fn()" \
	    grep -q "^\.It Fn \([a-z]\.\)\{0,1\}$fn\( \|$\)" \
	    "$src/man/nsreg-policy.7"
done
# The extension libraries: the entries of cel_func.c's table from the
# strings extension on.
ext='/The strings extension/,/^};/s/.*\.name = "\([A-Za-z.]*\)".*/\1/p'
for fn in $(sed -n "$ext" "$src/policy/cel_func.c"); do
	check "nsreg-policy(7) documents $fn()" \
	    grep -q "^\.It Fn \([a-z]\.\)\{0,1\}$fn\( \|$\)" \
	    "$src/man/nsreg-policy.7"
done
echo "1..$i"
echo "$out" | sed '/^$/d'
