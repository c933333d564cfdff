#!/bin/sh
# readme.sh - every ```sh block of README.md runs, in order, against live
# servers, so the README cannot drift from what nsreg does.
#
# The blocks of "## Two companies: federation" run in one shell against
# two registries, a.test and b.test, laid out as the README says (a/ and
# b/, $A and $B; tests/federation/companies.sh makes them); every other
# block runs in one shell against "nsregd --dev var/dev" in a scratch
# directory, on a free port instead of 8443.  A block after
# "<!-- readme-test: skip: REASON -->" is not run (counted, with its
# reason); a block of comments only shows output and is not run; the
# verify-grant.sh block is the script itself (test_grants checks the
# copy, the block after it runs it).
#
# Each curl of a block goes through a wrapper that records the HTTP
# status and the body: the status must be 2xx unless the comment right
# after the command shows an answer ("# 403 {...}", "# {"error":...}",
# "# HTTP/1.1 201 Created", a trailing "# 204"), and the key fields of
# an answer shown (names, codes, decisions, reasons, messages) must be in
# the real one, in the order shown (tests/readme-expect.awk).  Any other
# command that fails fails its block.  "curl -N" (a watch) runs in the background until the
# group's last block has run, then its events are compared.
#
# Usage: readme.sh [DIR]	(default: a temporary directory, removed; a
# DIR given is kept, with the servers' logs).  Speaks TAP.
# NSREG_SRCDIR and NSREG_BUILDDIR: source and build trees (default: .).
set -u
src=$(cd "${NSREG_SRCDIR:-.}" && pwd)
build=$(cd "${NSREG_BUILDDIR:-.}" && pwd)
keep=0
if [ $# -gt 0 ]; then
	work=$1
	keep=1
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/nsreg-readme.XXXXXX")
fi
work=$(cd "$work" && pwd)
pids=""
us=$(printf '\037')

cleanup() {
	for p in $pids $(cat "$work"/*/watchers 2>/dev/null); do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ $keep -eq 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

bail() {
	echo "Bail out! $1"
	exit 1
}

command -v curl >/dev/null 2>&1 || bail "curl is not installed"
command -v jq >/dev/null 2>&1 || bail "jq is not installed"
[ -x "$build/server/nsregd" ] || bail "no $build/server/nsregd"

# The blocks (what each command says it answers: below, once the ports
# are known).
mkdir -p "$work/blocks"
awk -v dir="$work/blocks" -f "$src/tests/readme-blocks.awk" \
    "$src/README.md" > "$work/manifest" || bail "cannot read README.md"
total=$(wc -l < "$work/manifest")
[ "$total" -gt 0 ] || bail "no sh blocks in README.md"
grep -q '	fed	run	' "$work/manifest" ||
    bail "no federation blocks (## Two companies: federation) in README.md"

# The shell a group of blocks runs in: README's relative paths (server/,
# tests/integration/) lead to the build and source trees, and curl is
# the recording wrapper.
prelude() {	# prelude DIR GROUP: the group's scratch directory
	cat <<EOF
__dir='$1'
__block=0
echo 0 > "\$__dir/n"
: > "\$__dir/calls"
: > "\$__dir/watchers"
__begin() {
	__block=\$1
	echo "\$1" > "\$__dir/started"
	exec > "\$__dir/out.\$1" 2> "\$__dir/err.\$1"
}
curl() {
	__n=\$((\$(cat "\$__dir/n") + 1))
	echo "\$__n" > "\$__dir/n"
	__c=\$__dir/call.\$__n
	__w=0
	for __a; do
		case \$__a in
		-N) __w=1 ;;
		esac
	done
	if [ \$__w -eq 1 ]; then
		command curl -sS --max-time 60 -D "\$__c.h" -o "\$__c.body" \\
		    "\$@" 2> "\$__c.err" &
		echo \$! >> "\$__dir/watchers"
		printf '%s\t%s\n' "\$__block" "\$__n" >> "\$__dir/calls"
		__i=0
		while [ ! -s "\$__c.body" ] && [ \$__i -lt 50 ]; do
			sleep 0.1
			__i=\$((__i + 1))
		done
		return 0
	fi
	command curl -sS --max-time 20 -D "\$__c.h" -o "\$__c.body" "\$@" \\
	    2> "\$__c.err"
	__rc=\$?
	printf '%s\t%s\n' "\$__block" "\$__n" >> "\$__dir/calls"
	cat "\$__c.body"
	cat "\$__c.err" >&2
	return \$__rc
}
EOF
	[ "$2" = fed ] || return 0
	# Hooks (<!-- readme-test: before: NAME -->), run before a block.
	# b-changes-its-ca: b.test's server restarts with a certificate of a
	# new CA that a.test does not hold (a rotation not announced).
	cat <<EOF
__hook_b_changes_its_ca() (
	set -e
	kill $bpid
	while kill -0 $bpid 2>/dev/null; do sleep 0.1; done
	"$build/server/nsreg-svid" -d "$1/b2" ca b.test >/dev/null
	"$build/server/nsreg-svid" -d "$1/b2" x509 spiffe://b.test/nsregd \\
	    --dns localhost --ip 127.0.0.1 -o "$1/b/server.pem" \\
	    -k "$1/b/server.key" >/dev/null
	"$build/server/nsregd" -d -f "$1/b/nsregd.conf" \\
	    >> "$1/b/nsregd.log" 2>&1 < /dev/null &
	echo \$! >> "$1/watchers"
	i=0
	until command curl -s --max-time 2 --cacert "$1/b2/bundle.pem" \\
	    "$B/healthz" >/dev/null; do
		i=\$((i + 1))
		[ \$i -lt 50 ]
		sleep 0.1
	done
)
EOF
}

# run_group GROUP DIR: run GROUP's blocks in one shell in DIR.
run_group() {
	g=$1
	dir=$2
	{
		prelude "$dir" "$g"
		echo "set -e"
		while IFS='	' read -r n line group kind reason; do
			[ "$group" = "$g" ] && [ "$kind" = run ] || continue
			echo "__begin $n"
			[ -z "$reason" ] ||
			    echo "__hook_$(echo "$reason" | tr - _)"
			cat "$work/blocks/block.$n"
			echo
			echo ": > \"\$__dir/ended.$n\""
		done < "$work/manifest"
	} > "$dir/script.sh"
	(cd "$dir" && exec timeout 300 sh "$dir/script.sh" \
	    > "$dir/script.out" 2> "$dir/script.err") &
	gpid=$!
	pids="$pids $gpid"
	wait "$gpid"
	echo $? > "$dir/script.rc"
	# Let the watches see the last events, then end them.
	sleep 1
	for p in $(cat "$dir/watchers"); do
		kill "$p" 2>/dev/null
	done
	sleep 0.2
}

status_of() {	# status_of CALL: the last status line's code
	awk '/^HTTP\//{ s = $2 } END { print s }' "$1.h" 2>/dev/null
}

# check_block N LINE DIR: prints "" when block N held, else why not.
check_block() {
	n=$1
	dir=$2
	if [ ! -e "$dir/err.$n" ]; then
		echo "not reached: an earlier block stopped the shell"
		return
	fi
	if [ ! -e "$dir/ended.$n" ]; then
		echo "stopped with exit $(cat "$dir/script.rc"):" \
		    "$(tail -c 1500 "$dir/err.$n" 2>/dev/null)"
		return
	fi
	awk -F '	' -v b="$n" '$1 == b { print $2 }' "$dir/calls" \
	    > "$dir/calls.$n"
	want=$(grep -c '^curl' "$work/blocks/expect.$n")
	got=$(wc -l < "$dir/calls.$n")
	if [ "$want" -ne "$got" ]; then
		echo "$want curl commands in the block, $got calls made"
		return
	fi
	i=0
	while IFS='	' read -r kind l st fields; do
		if [ "$kind" = out ]; then
			body=$dir/out.$n
			what="output of line $l"
		else
			i=$((i + 1))
			c=$dir/call.$(sed -n "${i}p" "$dir/calls.$n")
			body=$c.body
			[ "$kind" = curl ] || body=$dir/out.$n
			what="curl on line $l"
			s=$(status_of "$c")
			case $st in
			2xx)	case $s in
				2??) ;;
				*)	echo "$what: status $s, want 2xx:" \
					    "$(head -c 1000 "$body")"
					return ;;
				esac ;;
			err)	case $s in
				[45]??) ;;
				*)	echo "$what: status $s, want an error:" \
					    "$(head -c 1000 "$body")"
					return ;;
				esac ;;
			*)	if [ "$s" != "$st" ]; then
					echo "$what: status $s, want $st:" \
					    "$(head -c 1000 "$body")"
					return
				fi ;;
			esac
		fi
		[ -n "$fields" ] || continue
		# In the order shown, each after the one before.
		f=$(FIELDS=$fields US=$us awk '
		    { s = s " " $0 }
		    END {
			gsub(/[ \t]+/, " ", s)
			n = split(ENVIRON["FIELDS"], f, ENVIRON["US"])
			for (i = 1; i <= n; i++) {
				p = index(s, f[i])
				if (p == 0) {
					print f[i]
					exit
				}
				s = substr(s, p + length(f[i]))
			}
		    }' "$body")
		if [ -n "$f" ]; then
			echo "$what: no $f (in the order shown) in:" \
			    "$(head -c 1000 "$body")"
			return
		fi
	done < "$work/blocks/expect.$n"
	echo ""
}

# The development server, in a scratch directory where var/dev is its.
devdir=$work/dev
mkdir -p "$devdir/tests"
ln -s "$build/server" "$devdir/server"
ln -s "$src/tests/integration" "$devdir/tests/integration"
for try in 1 2 3 4 5 6 7 8; do
	port=$(( 20000 + ($$ * 7 + try * 1931 + $(date +%N | \
	    sed 's/^0*//;s/^$/0/') ) % 40000 ))
	(cd "$devdir" && exec "$build/server/nsregd" --dev var/dev \
	    --port "$port" >> "$devdir/nsregd.log" 2>&1) &
	pid=$!
	ready=0
	i=0
	while [ $i -lt 75 ]; do
		i=$((i + 1))
		kill -0 "$pid" 2>/dev/null || break
		if [ -f "$devdir/var/dev/bundle.pem" ] &&
		    command curl -s --max-time 2 \
		    --cacert "$devdir/var/dev/bundle.pem" \
		    "https://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
			ready=1
			break
		fi
		sleep 0.2
	done
	if [ $ready -eq 1 ]; then
		pids="$pids $pid"
		break
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "$devdir/var"
done
[ $ready -eq 1 ] || bail "nsregd --dev did not start: $(tail -5 \
    "$devdir/nsregd.log")"

# The two companies, as the README lays them out.
feddir=$work/fed
mkdir -p "$feddir/tests"
ln -s "$build/server" "$feddir/server"
ln -s "$src/tests/integration" "$feddir/tests/integration"
bin=$build/server
. "$src/tests/federation/companies.sh"
company "$feddir/a" a.test || bail "cannot set up a.test"
company "$feddir/b" b.test || bail "cannot set up b.test"
start "$feddir/a" a.test || bail "a.test did not start: $startlog"
pids="$pids $startpid"
A=$url
start "$feddir/b" b.test || bail "b.test did not start: $startlog"
pids="$pids $startpid"
B=$url
bpid=$startpid
export A B
# Only the ports differ from the README's: 8443 is nsregd --dev's, 8444
# its HTTP/2 listener's (port + 1) in the dev blocks and b.test's in the
# federation ones.
while IFS='	' read -r n line group kind reason; do
	f=$work/blocks/block.$n
	[ -f "$f" ] || continue
	if [ "$group" = fed ]; then
		h2=$B
	else
		h2=https://127.0.0.1:$((port + 1))
	fi
	sed -i -e "s/127\.0\.0\.1:8443/127.0.0.1:$port/g" \
	    -e "s|https://127\.0\.0\.1:8444|$h2|g" "$f"
done < "$work/manifest"
while IFS='	' read -r n line group kind reason; do
	[ "$kind" = run ] || continue
	awk -f "$src/tests/readme-expect.awk" "$work/blocks/block.$n" \
	    > "$work/blocks/expect.$n" || bail "cannot parse block $n"
done < "$work/manifest"

echo "1..$total"
echo "# nsregd --dev on port $port; a.test $A, b.test $B; files in $work"
run_group dev "$devdir"
run_group fed "$feddir"

fails=0
ran=0
skipped=0
while IFS='	' read -r n line group kind reason; do
	where="README.md:$line"
	case $kind in
	skip)
		skipped=$((skipped + 1))
		echo "ok $n - $where # SKIP $reason" ;;
	output)
		skipped=$((skipped + 1))
		echo "ok $n - $where # SKIP output only" ;;
	file)
		if cmp -s "$work/blocks/block.$n" "$src/$reason"; then
			echo "ok $n - $where is $reason"
		else
			fails=$((fails + 1))
			echo "not ok $n - $where is $reason"
		fi ;;
	run)
		ran=$((ran + 1))
		[ "$group" = fed ] && dir=$feddir || dir=$devdir
		why=$(check_block "$n" "$dir")
		ncurl=$(grep -c '^curl' "$work/blocks/expect.$n")
		if [ -z "$why" ]; then
			echo "ok $n - $where runs ($group, $ncurl curl)"
		else
			fails=$((fails + 1))
			echo "not ok $n - $where runs ($group, $ncurl curl)"
			echo "# $why" | head -c 2500 | sed '2,$s/^/# /'
			echo
		fi ;;
	esac
done < "$work/manifest"
echo "# $ran blocks run, $skipped not run, $fails failed"
[ $fails -eq 0 ]
