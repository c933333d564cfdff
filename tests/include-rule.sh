#!/bin/sh
# include-rule.sh - engines never see HTTP (STYLE rule 7a): an engine
# (admission, grants, federation, watch, the decision log, the store,
# identity) includes neither http.h nor server.h, not even through
# another header, and no file but
# nsregd.c, server.c and the handlers (api*.c, and grpc*.c for gRPC)
# includes server.h.  Each
# offending include is named with its file and line.  Speaks TAP.
src=${NSREG_SRCDIR:-.}
i=0
fails=0

# Engines, as paths under server/ (shell patterns).
engines='admission.c admission.h admission_*.c admission_*.h
grants.c grants.h grant.c grant.h ipam.c ipam.h select.c select.h
federation.c federation.h watch.c watch.h decision_log.c decision_log.h
store/* identity/*'

is_engine() {	# is_engine PATH (relative to server/)
	for pat in $engines; do
		case $1 in
		$pat) return 0 ;;
		esac
	done
	return 1
}

may_include_server_h() {	# PATH (relative to server/)
	case $1 in
	nsregd.c|server.c|server.h|api*.c|grpc*.c) return 0 ;;
	esac
	return 1
}

report() {	# report OK DESCRIPTION [DETAIL]: DETAIL's lines as comments
	i=$((i + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $i - $2"
	else
		echo "not ok $i - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
		fails=$((fails + 1))
	fi
}

# includes FILE HEADER: "FILE:LINE: #include ..." for each include of
# HEADER in FILE.
includes() {
	grep -n "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$2\"" "$1" |
	    sed "s|^\([0-9]*\):|${1#"$src"/}:\1: |"
}

# through FILE: "FILE -> a.h -> http.h" for each way a header FILE
# includes, directly or not, reaches http.h or server.h.  Breadth first
# over $graph (made below), one awk for the whole walk.
through() {
	awk -v first="$1" '
	{ inc[$1, ++n[$1]] = $2 }
	END {
		seen[first] = 1
		chain[first] = first
		q[qn = 1] = first
		for (qi = 1; qi <= qn; qi++) {
			f = q[qi]
			for (j = 1; j <= n[f]; j++) {
				h = inc[f, j]
				if ((h == "http.h" || h == "server.h") && f != first)
					print "server/" chain[f] "->" h
				if (h in seen)
					continue
				seen[h] = 1
				chain[h] = chain[f] "->" h
				q[++qn] = h
			}
		}
	}' "$graph"
}

files=$(cd "$src/server" && find . -name '*.[ch]' | sed 's|^\./||' | sort)
[ -n "$files" ] || { echo "1..0 # SKIP no sources under $src/server"; exit 0; }
# The include graph, "FILE HEADER" for each project header FILE
# includes, as paths under server/ (a header of another folder is found
# where it lives).
graph=$(mktemp) || exit 1
trap 'rm -f "$graph"' EXIT
# shellcheck disable=SC2086
(cd "$src/server" && awk -v list="$files" '
BEGIN {
	n = split(list, all, "\n")
	for (i = 1; i <= n; i++)
		have[all[i]] = 1
}
/^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*"/ {
	h = $0
	sub(/^[^"]*"/, "", h)
	sub(/".*/, "", h)
	if (h in have)
		print FILENAME, h
	else if (("identity/" h) in have)
		print FILENAME, "identity/" h
	else if (("store/" h) in have)
		print FILENAME, "store/" h
}' $files) >"$graph" || exit 1
nengines=0
for f in $files; do
	hits=""
	if is_engine "$f"; then
		nengines=$((nengines + 1))
		first=$f
		hits=$(includes "$src/server/$f" 'http\.h'; includes \
		    "$src/server/$f" 'server\.h'; through "$f")
		[ -z "$hits" ]
		report $? "engine server/$f includes neither http.h nor server.h" \
		    "$hits"
	elif ! may_include_server_h "$f"; then
		hits=$(includes "$src/server/$f" 'server\.h')
		[ -z "$hits" ]
		report $? "server/$f does not include server.h (only nsregd.c, \
server.c and handlers may)" "$hits"
	fi
done
# The lists above must keep finding the engines.
[ "$nengines" -ge 20 ]
report $? "the engine patterns match the engines ($nengines files)"
echo "1..$i"
[ "$fails" -eq 0 ]
