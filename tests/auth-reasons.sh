#!/bin/sh
# auth-reasons.sh - nsregd(8) lists every reason a credential is refused
# with: each NSREG_UNAUTHENTICATED message in the authentication code
# (printf conversions and numbers compared as wildcards) is an ".It Ql"
# entry of its "Debugging a 401" section.  Messages the server cannot
# give a client (an X.509-SVID presented as a server) are left out.
# Speaks TAP.
src=${NSREG_SRCDIR:-.}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# The messages: string literals right after NSREG_UNAUTHENTICATED, NULL,
# joined across lines.
for f in auth.c server.c identity/x509svid.c identity/jwtsvid.c; do
	cat "$src/server/$f"
done | awk '
	{ text = text $0 "\n" }
	END {
		while ((i = index(text, "NSREG_UNAUTHENTICATED,")) > 0) {
			text = substr(text, i + 22)
			s = text
			sub(/^[ \t\n]*NULL,[ \t\n]*/, "", s)
			msg = ""
			while (substr(s, 1, 1) == "\"") {
				s = substr(s, 2)
				j = 1
				while (j <= length(s)) {
					c = substr(s, j, 1)
					if (c == "\\") { j += 2; continue }
					if (c == "\"") break
					j++
				}
				msg = msg substr(s, 1, j - 1)
				s = substr(s, j + 1)
				sub(/^[ \t\n]*/, "", s)
			}
			if (msg != "")
				print msg
		}
	}' | sed -e 's/\\"/"/g' | grep -v 'lacks serverAuth$' |
    sort -u > "$tmp/code"

# The manual's entries, with placeholders (Ar) as plain words.
sed -n '/^\.Ss Debugging a 401/,/^\.S[sh] /p' "$src/man/nsregd.8" |
    sed -n 's/^\.It Ql //p' |
    sed -e 's/\\(dq/"/g' -e 's/ Ar \([^ ]*\)/ \1/g' -e 's/ Li / /g' \
    > "$tmp/man"

n=$(wc -l < "$tmp/code")
if [ "$n" -lt 20 ]; then
	echo "1..1"
	echo "not ok 1 - only $n messages found in the code"
	exit 0
fi
echo "1..$n"
i=0
while IFS= read -r m; do
	i=$((i + 1))
	# printf conversions in the code match any text of the manual.
	re=$(printf '%s\n' "$m" | sed -e 's/[][\.^$*]/\\&/g' \
	    -e 's/%[a-z]*/.*/g')
	if grep -qx -- "$re" "$tmp/man"; then
		echo "ok $i - nsregd(8) lists \"$m\""
	else
		echo "not ok $i - nsregd(8) lists \"$m\""
	fi
done < "$tmp/code"
